//! Property tests: JSON encode/decode round trips, conversion idempotence, set canonical form.

use proptest::prelude::*;
use std::collections::BTreeMap;
use value::convert::convert;
use value::json::{from_json, implied_type, to_json_typed};
use value::{Number, Type, Value};

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Type::Tuple),
            prop::collection::btree_map("[a-c]", inner, 0..3).prop_map(Type::object),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        (-1e12f64..1e12).prop_map(|f| Number::from_f64(f).unwrap()),
        ("-?[0-9]{1,30}\\.[0-9]{1,30}").prop_map(|s| Number::parse(&s).unwrap()),
    ]
}

fn arb_value(ty: Type) -> BoxedStrategy<Value> {
    let non_null: BoxedStrategy<Value> = match ty.clone() {
        Type::String => "[ -~é\n]{0,8}".prop_map(Value::String).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(e) => prop::collection::vec(arb_value((*e).clone()), 0..3)
            .prop_map(move |vs| Value::list_of((*e).clone(), vs))
            .boxed(),
        Type::Set(e) => prop::collection::vec(arb_value((*e).clone()), 0..3)
            .prop_map(move |vs| Value::set_of((*e).clone(), vs))
            .boxed(),
        Type::Map(e) => prop::collection::btree_map("[a-z]{0,3}", arb_value((*e).clone()), 0..3)
            .prop_map(move |m| Value::map_of((*e).clone(), m))
            .boxed(),
        Type::Tuple(ts) => ts
            .into_iter()
            .map(arb_value)
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Object(o) => o
            .attrs
            .into_iter()
            .map(|(k, t)| arb_value(t).prop_map(move |v| (k.clone(), v)))
            .collect::<Vec<_>>()
            .prop_map(|kvs| Value::Object(kvs.into_iter().collect::<BTreeMap<_, _>>()))
            .boxed(),
        Type::Dynamic => Just(Value::Null(Type::Dynamic)).boxed(),
    };
    prop_oneof![9 => non_null, 1 => Just(Value::Null(ty))].boxed()
}

fn typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|t| arb_value(t.clone()).prop_map(move |v| (t.clone(), v)))
}

proptest! {
    #[test]
    fn json_round_trips((ty, v) in typed_value()) {
        let j = to_json_typed(&v, &ty).unwrap();
        // Through text, as state files do.
        let text = serde_json::to_string(&j).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        let decoded = from_json(&back, &ty).unwrap();
        prop_assert_eq!(&decoded, &v);
    }

    #[test]
    fn json_dynamic_wrapper_round_trips((_ty, v) in typed_value()) {
        let j = to_json_typed(&v, &Type::Dynamic).unwrap();
        let decoded = from_json(&j, &Type::Dynamic).unwrap();
        prop_assert!(decoded.raw_equals(&v) || v.is_null() && decoded.is_null());
    }

    #[test]
    fn implied_type_accepts_encoding((ty, v) in typed_value()) {
        let j = to_json_typed(&v, &ty).unwrap();
        let implied = implied_type(&j);
        prop_assert!(from_json(&j, &implied).is_ok());
    }

    #[test]
    fn conversion_is_idempotent((_ty, v) in typed_value(), target in arb_type()) {
        if let Ok(once) = convert(&v, &target) {
            let twice = convert(&once, &target).unwrap();
            prop_assert_eq!(&twice, &once);
            if !once.is_null() {
                prop_assert_eq!(once.ty(), target.clone());
            }
        }
    }

    #[test]
    fn converting_to_own_type_is_identity((ty, v) in typed_value()) {
        prop_assert_eq!(convert(&v, &ty).unwrap(), v.clone());
        prop_assert_eq!(convert(&v, &Type::Dynamic).unwrap(), v);
    }

    #[test]
    fn set_canonical_form_is_stable(elems in prop::collection::vec(arb_number(), 0..6)) {
        let vals: Vec<Value> = elems.into_iter().map(Value::Number).collect();
        let s = Value::set_of(Type::Number, vals.clone());
        let Value::Set(_, canon) = &s else { unreachable!() };
        let again = Value::set_of(Type::Number, canon.iter().rev().cloned().collect());
        prop_assert_eq!(&again, &s);
        for w in canon.windows(2) {
            prop_assert_eq!(w[0].as_number().unwrap().cmp_value(w[1].as_number().unwrap()), std::cmp::Ordering::Less);
        }
    }
}
