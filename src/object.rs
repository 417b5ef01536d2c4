//! Deserializing a struct from a JSON object only. serde's derived structs
//! also accept an array of their fields in order, which a JSON API must
//! refuse: `[null, null]` is not an update.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// Deserializes `T` from a map, refusing every other form.
pub(crate) fn from_object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_map(ObjectOnly(PhantomData))
}

struct ObjectOnly<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Pair {
        a: Option<u8>,
        b: Option<u8>,
    }

    fn parse(text: &str) -> Result<Pair, serde_json::Error> {
        from_object(&mut serde_json::Deserializer::from_str(text))
    }

    #[test]
    fn objects_pass_and_arrays_do_not() {
        assert_eq!(
            parse(r#"{"a":1}"#).unwrap(),
            Pair {
                a: Some(1),
                b: None
            }
        );
        assert!(
            serde_json::from_str::<Pair>("[null, null]").is_ok(),
            "what serde allows"
        );
        let err = parse("[null, null]").unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
        assert!(parse("null").is_err());
    }
}
