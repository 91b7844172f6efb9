"""The benchmarks' web root: FILES small PHP files, 100 a directory, two levels deep; one file
in 500 has mode 0666 (a finding for the permissions check and find alike), everything else
0644, directories 0755. Shared by bench/permissions.sh and bench/baseline.sh so they measure
the same tree. With LINES, each file is that many lines of PHP, as code is (what the
snapshot's line hashes grow with).

    python3 bench/tree.py ROOT FILES [LINES]
"""
import os
import sys

root, total = sys.argv[1], int(sys.argv[2])
lines = int(sys.argv[3]) if len(sys.argv) > 3 else 0
body = "<?php\n" + "".join(f'echo "line {i} of a file of code";\n' for i in range(lines))
per_dir = 100
for d in range(total // per_dir):
    path = os.path.join(root, f"d{d // 100:03}", f"s{d % 100:02}")
    os.makedirs(path, exist_ok=True)
    for f in range(per_dir):
        p = os.path.join(path, f"f{f:03}.php")
        with open(p, "w") as fh:
            fh.write(body)
        os.chmod(p, 0o666 if (d * per_dir + f) % 500 == 0 else 0o644)
for dirpath, dirnames, _ in os.walk(root):
    os.chmod(dirpath, 0o755)
