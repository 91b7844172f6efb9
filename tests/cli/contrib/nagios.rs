//! contrib/nagios: the Icinga 2 CheckCommands through icinga2 daemon -C, the Nagios command
//! definitions through nagios4 -v, and the NRPE line run by a real NRPE daemon.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{assert_ok, contrib, run};
use crate::peer::program;
use crate::testenv::{TestEnv, bin, run_command, selftest};

#[test]
fn icinga2_validates_the_check_commands() {
    let Some(icinga2) = program("icinga2") else {
        return;
    };
    let env = TestEnv::new();
    let conf = env.file(
        "icinga2.conf",
        &format!(
            r#"const PluginDir = "/usr/lib/nagios/plugins"
include <itl>
include <plugins>
include "{}"
object Host "web1" {{
  check_command = "dummy"
  address = "127.0.0.1"
}}
object Service "sitedoctor" {{
  host_name = "web1"
  check_command = "sitedoctor"
  vars.sitedoctor_only = [ "disk", "web" ]
  vars.sitedoctor_fail_on = "fail"
}}
object Service "sitedoctor-sudo" {{
  host_name = "web1"
  check_command = "sitedoctor-sudo"
}}
object Service "sitedoctor-nrpe" {{
  host_name = "web1"
  check_command = "nrpe"
  vars.nrpe_command = "check_sitedoctor"
}}
"#,
            contrib("nagios/sitedoctor.icinga2.conf").display()
        ),
    );
    // Its state, cache and run directories in the temporary directory; as root it would
    // switch to the nagios user, which cannot write there.
    let mut args = vec![
        "daemon".to_string(),
        "-C".into(),
        "-c".into(),
        conf.display().to_string(),
        "-DRunAsUser=root".into(),
        "-DRunAsGroup=root".into(),
    ];
    for (constant, dir) in [
        ("DataDir", "data"),
        ("LogDir", "log"),
        ("CacheDir", "cache"),
        ("SpoolDir", "spool"),
        ("InitRunDir", "run"),
    ] {
        let d = env.path().join(dir);
        std::fs::create_dir(&d).unwrap();
        args.push(format!("-D{constant}={}", d.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&icinga2, &args, env.path());
    assert_ok("icinga2 daemon -C", &out);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("Instantiated 3 Services."), "{all}");
    assert!(
        !all.contains("warning/") && !all.contains("critical/"),
        "icinga2 warned:\n{all}"
    );
}

#[test]
fn nagios_validates_the_command_definitions() {
    let Some(nagios) = program("nagios4") else {
        return;
    };
    let env = TestEnv::new();
    let d = env.path().display().to_string();
    std::fs::create_dir(env.path().join("spool")).unwrap();
    let cfg = env.file(
        "nagios.cfg",
        &format!(
            "cfg_file={}\ncfg_file={d}/objects.cfg\nlog_file={d}/nagios.log\n\
             status_file={d}/status.dat\nobject_cache_file={d}/objects.cache\n\
             precached_object_file={d}/objects.precache\ntemp_file={d}/nagios.tmp\n\
             temp_path={d}\nlock_file={d}/nagios.lock\nstate_retention_file={d}/retention.dat\n\
             command_file={d}/nagios.cmd\ncheck_result_path={d}/spool\n\
             nagios_user=root\nnagios_group=root\nillegal_macro_output_chars=`~$&|'\"<>\n",
            contrib("nagios/commands.cfg").display()
        ),
    );
    let service = |name: &str, command: &str| {
        format!(
            "define service {{\n host_name web1\n service_description {name}\n \
             check_command {command}\n max_check_attempts 1\n check_interval 5\n \
             retry_interval 1\n check_period 24x7\n contacts admin\n \
             notification_interval 0\n notification_period 24x7\n}}\n"
        )
    };
    env.file(
        "objects.cfg",
        &[
            "define timeperiod {\n timeperiod_name 24x7\n alias always\n monday 00:00-24:00\n}\n",
            "define contact {\n contact_name admin\n host_notifications_enabled 0\n \
             service_notifications_enabled 0\n host_notification_period 24x7\n \
             service_notification_period 24x7\n host_notification_options n\n \
             service_notification_options n\n host_notification_commands check_sitedoctor\n \
             service_notification_commands check_sitedoctor\n}\n",
            "define host {\n host_name web1\n address 127.0.0.1\n max_check_attempts 1\n \
             check_period 24x7\n contacts admin\n notification_interval 0\n \
             notification_period 24x7\n}\n",
            &service("sitedoctor", "check_sitedoctor!fail"),
            &service("sitedoctor-nrpe", "check_sitedoctor_nrpe"),
        ]
        .concat(),
    );
    let out = run(&nagios, &["-v", &cfg.display().to_string()], env.path());
    assert_ok("nagios4 -v", &out);
    assert!(out.stdout.contains("Checked 2 commands."), "{}", out.stdout);
    assert!(
        out.stdout.contains("Total Warnings: 0") && out.stdout.contains("Total Errors:   0"),
        "{}",
        out.stdout
    );
}

/// A free loopback port (the listener closes before the daemon binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The NRPE line as shipped, run by a real NRPE daemon on loopback and asked by check_nrpe:
/// the plugin result and the exit code arrive whole.
#[test]
fn nrpe_runs_the_command_line_for_check_nrpe() {
    let Some(nrpe) = program("nrpe") else { return };
    let Some(check_nrpe) = Path::new("/usr/lib/nagios/plugins/check_nrpe")
        .exists()
        .then(|| PathBuf::from("/usr/lib/nagios/plugins/check_nrpe"))
        .or_else(|| program("check_nrpe"))
    else {
        return;
    };
    // NRPE refuses to run as root: its user (nobody) must reach the binary and the config.
    let env = TestEnv::new();
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sd = env.path().join("sitedoctor");
    std::fs::copy(bin(), &sd).unwrap();
    std::fs::set_permissions(&sd, std::fs::Permissions::from_mode(0o755)).unwrap();
    let checks = env.file(
        "checks.toml",
        &[
            selftest("site", "summary = \"answers 200\""),
            selftest("disk", "result = \"fail\"\nsummary = \"/var is 97% full\""),
        ]
        .concat(),
    );
    std::fs::set_permissions(&checks, std::fs::Permissions::from_mode(0o644)).unwrap();

    let shipped = std::fs::read_to_string(contrib("nagios/nrpe.cfg")).unwrap();
    let line = shipped
        .lines()
        .find(|l| l.starts_with("command[check_sitedoctor]="))
        .expect("an uncommented command line");
    let line = line.replace(
        "/usr/local/bin/sitedoctor",
        &format!(
            "/usr/bin/env SITEDOCTOR_SELFTEST=1 {} --config {}",
            sd.display(),
            checks.display()
        ),
    );
    let port = free_port();
    let cfg = env.file(
        "nrpe.cfg",
        &format!(
            "server_address=127.0.0.1\nserver_port={port}\nnrpe_user=nobody\nnrpe_group=nogroup\n\
             allowed_hosts=127.0.0.1\npid_file={}/nrpe.pid\ncommand_timeout=60\n{line}\n",
            env.path().display()
        ),
    );
    let mut daemon = Command::new(nrpe)
        .args(["-c", &cfg.display().to_string(), "-f", "-n"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let ask = |args: &[&str]| {
        let mut c = Command::new(&check_nrpe);
        c.args(["-n", "-H", "127.0.0.1", "-p", &port.to_string()])
            .args(args);
        run_command(c)
    };
    // Wait until it answers its version query.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ask(&[]).code != 0 {
        if Instant::now() > deadline || daemon.try_wait().unwrap().is_some() {
            let _ = daemon.kill();
            panic!("nrpe did not start on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = ask(&["-t", "60", "-c", "check_sitedoctor"]);
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "SITEDOCTOR CRITICAL - 1 of 2 checks need attention; disk: /var is 97% full \
         | 'site_answer'=42;50;60 'disk_answer'=42;50;60\nFAIL disk: /var is 97% full\n"
    );
}
