//! Strict JSON for request bodies: like `serde_json::from_slice::<Value>`, but an object with the
//! same key twice is an error instead of "the last one wins".
//!
//! Duplicate keys are how a body says two things at once (`{"urgency":"fyi","urgency":"urgent"}`):
//! whichever copy a reader keeps, another reader (a log, a proxy, the partner's own system) may
//! keep the other. So the intake refuses them, naming the key. serde_json's own limits still
//! apply: nesting deeper than 128 levels, numbers out of range, invalid UTF-8 and lone surrogates
//! (`"\ud800"`) are errors.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses `raw` as one JSON value; an object with a repeated key is an error.
pub fn parse_strict(raw: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let v = StrictSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictSeed.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let shown: String = key.chars().take(40).collect();
                return Err(de::Error::custom(format!(
                    "duplicate key '{shown}' in an object"
                )));
            }
            let v = map.next_value_seed(StrictSeed)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_serde_json_without_duplicates() {
        for s in [
            r#"{"a":[1,-2,3.5,true,null,"x"],"b":{"c":{}}}"#,
            "[]",
            "\"\\u3042\"",
            "  1e3 ",
        ] {
            let ours = parse_strict(s.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(s).unwrap();
            assert_eq!(ours, theirs, "{s}");
        }
    }

    #[test]
    fn refuses_duplicates_at_any_depth() {
        let e = parse_strict(br#"{"urgency":"fyi","urgency":"urgent"}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key 'urgency'"), "{e}");
        assert!(parse_strict(br#"{"s":{"name":"a","name":"b"}}"#).is_err());
        assert!(parse_strict(br#"[{"k":1},{"k":1}]"#).is_ok());
    }

    #[test]
    fn keeps_serde_json_limits() {
        assert!(parse_strict(&vec![b'['; 100_000]).is_err());
        assert!(parse_strict(br#""\ud800""#).is_err());
        assert!(parse_strict(b"1e999").is_err());
        assert!(parse_strict(b"{} x").is_err());
        assert!(parse_strict(b"\"\xff\"").is_err());
    }
}
