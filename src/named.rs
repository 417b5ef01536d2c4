//! `Deserialize` for structs whose errors name the field that failed, with
//! any deserializer: `serde_json::from_slice` says `timestamp: not an RFC
//! 3339 date-time …`, not only a line and column.
//!
//! The happy path does what `#[derive(Deserialize)]` does; only a failing
//! field pays for the renamed message.

use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, Deserialize, DeserializeSeed, Visitor};

/// Deserializes one field's value, prefixing its error with `<name>: `.
pub(crate) struct Field<T> {
    name: &'static str,
    marker: PhantomData<fn() -> T>,
}

impl<T> Field<T> {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            marker: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Field<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        match T::deserialize(deserializer) {
            Ok(value) => Ok(value),
            Err(err) => Err(named(self.name, &err)),
        }
    }
}

/// `err` with `name: ` in front. The position a format such as
/// serde_json appended is dropped: the format appends it again to the new
/// error, and it would otherwise show twice.
#[cold]
#[inline(never)]
pub(crate) fn named<E: de::Error>(name: &str, err: &E) -> E {
    let text = err.to_string();
    E::custom(format_args!("{name}: {}", without_position(&text)))
}

/// `text` without a trailing ` at line <n> column <m>`.
fn without_position(text: &str) -> &str {
    let Some((head, tail)) = text.rsplit_once(" at line ") else {
        return text;
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match tail.split_once(" column ") {
        Some((line, column)) if digits(line) && digits(column) => head,
        _ => text,
    }
}

/// The value of a field the input left out: `None` for an `Option`, the
/// error `missing field `<name>`` for anything else, as derived code does.
pub(crate) fn missing<'de, T: Deserialize<'de>, E: de::Error>(name: &'static str) -> Result<T, E> {
    T::deserialize(MissingField(name, PhantomData))
}

struct MissingField<E>(&'static str, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for MissingField<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, E> {
        Err(E::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// Implements `Deserialize` for a struct with named fields, as
/// `#[derive(Deserialize)]` would (maps and sequences, unknown keys
/// ignored, duplicates refused), except that a field's error starts with
/// its JSON name.
macro_rules! deserialize_named_fields {
    (
        $name:ident $(<$param:ident>)? {
            $($field:ident: $ty:ty = $key:literal,)+
        }
    ) => {
        impl<'de $(, $param: ::serde::Deserialize<'de>)?> ::serde::Deserialize<'de>
            for $name $(<$param>)?
        {
            fn deserialize<De: ::serde::Deserializer<'de>>(
                deserializer: De,
            ) -> Result<Self, De::Error> {
                use $crate::named::{Field, missing, named};
                use ::serde::de::{Error as _, IgnoredAny, MapAccess, SeqAccess};

                const FIELDS: &[&str] = &[$($key),+];

                // One `match` on the key, as derived code has.
                #[allow(non_camel_case_types)]
                #[derive(Clone, Copy)]
                enum Key { $($field,)+ __ignored }
                const KEYS: &[Key] = &[$(Key::$field),+];

                impl<'de> ::serde::Deserialize<'de> for Key {
                    fn deserialize<De: ::serde::Deserializer<'de>>(
                        deserializer: De,
                    ) -> Result<Self, De::Error> {
                        deserializer.deserialize_identifier(KeyVisitor)
                    }
                }

                struct KeyVisitor;

                impl ::serde::de::Visitor<'_> for KeyVisitor {
                    type Value = Key;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a field name")
                    }

                    fn visit_str<E: ::serde::de::Error>(self, key: &str) -> Result<Key, E> {
                        Ok(match key {
                            $($key => Key::$field,)+
                            _ => Key::__ignored,
                        })
                    }

                    fn visit_bytes<E: ::serde::de::Error>(self, key: &[u8]) -> Result<Key, E> {
                        Ok(::std::str::from_utf8(key).map_or(Key::__ignored, |key| {
                            self.visit_str::<E>(key).unwrap_or(Key::__ignored)
                        }))
                    }

                    fn visit_u64<E: ::serde::de::Error>(self, index: u64) -> Result<Key, E> {
                        Ok(usize::try_from(index)
                            .ok()
                            .and_then(|index| KEYS.get(index).copied())
                            .unwrap_or(Key::__ignored))
                    }
                }

                fn read_map<'de, A: MapAccess<'de> $(, $param: ::serde::Deserialize<'de>)?>(
                    map: &mut A,
                    current: &mut &'static str,
                ) -> Result<$name $(<$param>)?, A::Error> {
                    $(let mut $field: Option<$ty> = None;)+
                    while let Some(key) = map.next_key::<Key>()? {
                        match key {
                            $(Key::$field => {
                                if $field.is_some() {
                                    return Err(A::Error::duplicate_field($key));
                                }
                                *current = $key;
                                $field = Some(map.next_value::<$ty>()?);
                                *current = "";
                            })+
                            Key::__ignored => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                    }
                    $(let $field = match $field {
                        Some(value) => value,
                        None => missing::<$ty, A::Error>($key)?,
                    };)+
                    Ok($name { $($field),+ })
                }

                struct Visitor $(<$param>)? (::std::marker::PhantomData<fn() -> ($($param,)?)>);

                impl<'de $(, $param: ::serde::Deserialize<'de>)?> ::serde::de::Visitor<'de>
                    for Visitor $(<$param>)?
                {
                    type Value = $name $(<$param>)?;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("struct ", stringify!($name)))
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        // The field being read, named in its error only
                        // once it fails: the happy path stays derived code's.
                        let mut current = "";
                        match read_map(&mut map, &mut current) {
                            Ok(value) => Ok(value),
                            Err(err) if current.is_empty() => Err(err),
                            Err(err) => Err(named(current, &err)),
                        }
                    }

                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                        let mut read = 0usize;
                        $(
                            let Some($field) = seq.next_element_seed(Field::<$ty>::new($key))? else {
                                return Err(A::Error::invalid_length(read, &self));
                            };
                            read = read.saturating_add(1);
                        )+
                        let _ = read;
                        Ok($name { $($field),+ })
                    }
                }

                deserializer.deserialize_struct(
                    stringify!($name),
                    FIELDS,
                    Visitor(::std::marker::PhantomData),
                )
            }
        }
    };
}

pub(crate) use deserialize_named_fields;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trailing_position_is_dropped() {
        assert_eq!(without_position("bad at line 1 column 78"), "bad");
        assert_eq!(
            without_position("bad at line x column 78"),
            "bad at line x column 78"
        );
        assert_eq!(
            without_position("bad at line 1 column"),
            "bad at line 1 column"
        );
        assert_eq!(without_position("bad"), "bad");
    }
}
