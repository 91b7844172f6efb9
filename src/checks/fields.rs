//! Read the field names a serde struct accepts, so the registry validates and documents
//! exactly what each kind's spec deserializes.

use serde::de::{self, Deserialize, Deserializer, Visitor};

#[derive(Debug)]
struct Captured;

impl std::fmt::Display for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field capture")
    }
}
impl std::error::Error for Captured {}
impl de::Error for Captured {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Captured
    }
}

struct Capture<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Capture<'_> {
    type Error = Captured;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Captured> {
        Err(Captured)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Captured> {
        *self.0 = fields;
        Err(Captured)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The field names `T` deserializes (empty for a type that is not a struct).
pub fn fields_of<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Capture(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Example {
        a: u8,
        #[serde(rename = "b-b")]
        b: Option<String>,
    }

    #[test]
    fn captures_struct_fields() {
        assert_eq!(super::fields_of::<Example>(), &["a", "b-b"]);
    }
}
