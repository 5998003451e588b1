//! Protocol 6 against an in-process stand-in plugin: a shell script prints the go-plugin
//! handshake naming a unix socket served by a tonic server in this test, so the protocol-6
//! method names, nested attribute schemas, value round trips and the graceful Shutdown are
//! checked without a real protocol-6 provider binary.

use plugin::proto::goplugin::{
    self,
    grpc_controller_server::{GrpcController, GrpcControllerServer},
};
use plugin::proto::tfplugin6::{self as v6, provider_server};
use plugin::{complete_object, PluginOptions, PluginProvider, SchemaSource};
use providers::{
    ApplyResourceChangeRequest, NestingMode, PlanResourceChangeRequest, Provider, Severity,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::{Request, Response, Status};
use value::{PathStep, Type, Value};

#[derive(Default)]
struct Seen {
    rpcs: Vec<String>,
    configured_with: Option<Value>,
    shutdown: bool,
}

#[derive(Clone, Default)]
struct Mock {
    seen: Arc<Mutex<Seen>>,
}

impl Mock {
    fn saw(&self, rpc: &str) {
        self.seen.lock().unwrap().rpcs.push(rpc.to_string());
    }
}

fn attr(name: &str, ty: &str, required: bool, computed: bool) -> v6::schema::Attribute {
    v6::schema::Attribute {
        name: name.into(),
        r#type: ty.as_bytes().to_vec(),
        required,
        optional: !required && !computed,
        computed,
        ..Default::default()
    }
}

fn provider_block() -> v6::schema::Block {
    v6::schema::Block {
        attributes: vec![attr("endpoint", r#""string""#, false, false)],
        ..Default::default()
    }
}

fn thing_block() -> v6::schema::Block {
    v6::schema::Block {
        attributes: vec![
            attr("id", r#""string""#, false, true),
            attr("name", r#""string""#, true, false),
            attr("sizes", r#"["list","number"]"#, false, false),
            v6::schema::Attribute {
                name: "rules".into(),
                nested_type: Some(v6::schema::Object {
                    attributes: vec![
                        attr("port", r#""number""#, true, false),
                        attr("cidr", r#""string""#, false, false),
                    ],
                    nesting: v6::schema::object::NestingMode::Set as i32,
                    ..Default::default()
                }),
                optional: true,
                ..Default::default()
            },
            v6::schema::Attribute {
                name: "password".into(),
                r#type: br#""string""#.to_vec(),
                optional: true,
                sensitive: true,
                write_only: true,
                ..Default::default()
            },
        ],
        block_types: vec![v6::schema::NestedBlock {
            type_name: "tag".into(),
            block: Some(v6::schema::Block {
                attributes: vec![attr("key", r#""string""#, true, false)],
                ..Default::default()
            }),
            nesting: v6::schema::nested_block::NestingMode::List as i32,
            min_items: 0,
            max_items: 3,
        }],
        ..Default::default()
    }
}

fn thing_type() -> Type {
    // The implied type, written out: what the provider must receive.
    let rule = Type::object([
        ("cidr".to_string(), Type::String),
        ("port".to_string(), Type::Number),
    ]);
    Type::object([
        ("id".to_string(), Type::String),
        ("name".to_string(), Type::String),
        ("password".to_string(), Type::String),
        ("rules".to_string(), Type::set(rule)),
        ("sizes".to_string(), Type::list(Type::Number)),
        (
            "tag".to_string(),
            Type::list(Type::object([("key".to_string(), Type::String)])),
        ),
    ])
}

fn decode(dv: Option<v6::DynamicValue>, ty: &Type) -> Value {
    value::msgpack::from_msgpack(&dv.unwrap_or_default().msgpack, ty).unwrap()
}

fn encode(v: &Value, ty: &Type) -> Option<v6::DynamicValue> {
    Some(v6::DynamicValue {
        msgpack: value::msgpack::to_msgpack(v, ty).unwrap(),
        json: vec![],
    })
}

#[tonic::async_trait]
impl provider_server::Provider for Mock {
    async fn get_provider_schema(
        &self,
        _: Request<v6::get_provider_schema::Request>,
    ) -> Result<Response<v6::get_provider_schema::Response>, Status> {
        self.saw("GetProviderSchema");
        Ok(Response::new(v6::get_provider_schema::Response {
            provider: Some(v6::Schema {
                version: 0,
                block: Some(provider_block()),
            }),
            resource_schemas: [(
                "mock_thing".to_string(),
                v6::Schema {
                    version: 2,
                    block: Some(thing_block()),
                },
            )]
            .into_iter()
            .collect(),
            functions: [(
                "double".to_string(),
                v6::Function {
                    parameters: vec![v6::function::Parameter {
                        name: "n".into(),
                        r#type: br#""number""#.to_vec(),
                        ..Default::default()
                    }],
                    r#return: Some(v6::function::Return {
                        r#type: br#""number""#.to_vec(),
                    }),
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            server_capabilities: Some(v6::ServerCapabilities {
                get_provider_schema_optional: true,
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<v6::validate_provider_config::Request>,
    ) -> Result<Response<v6::validate_provider_config::Response>, Status> {
        self.saw("ValidateProviderConfig");
        let ty = Type::object([("endpoint".to_string(), Type::String)]);
        let cfg = decode(req.into_inner().config, &ty);
        let mut diagnostics = vec![];
        if let Value::Object(m) = &cfg {
            if m["endpoint"].is_null() {
                diagnostics.push(v6::Diagnostic {
                    severity: v6::diagnostic::Severity::Warning as i32,
                    summary: "no endpoint".into(),
                    detail: "defaulting".into(),
                    attribute: Some(v6::AttributePath {
                        steps: vec![v6::attribute_path::Step {
                            selector: Some(v6::attribute_path::step::Selector::AttributeName(
                                "endpoint".into(),
                            )),
                        }],
                    }),
                });
            }
        }
        Ok(Response::new(v6::validate_provider_config::Response {
            diagnostics,
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<v6::configure_provider::Request>,
    ) -> Result<Response<v6::configure_provider::Response>, Status> {
        self.saw("ConfigureProvider");
        let ty = Type::object([("endpoint".to_string(), Type::String)]);
        let r = req.into_inner();
        assert_eq!(r.terraform_version, "1.11.4");
        self.seen.lock().unwrap().configured_with = Some(decode(r.config, &ty));
        Ok(Response::new(Default::default()))
    }

    async fn plan_resource_change(
        &self,
        req: Request<v6::plan_resource_change::Request>,
    ) -> Result<Response<v6::plan_resource_change::Response>, Status> {
        self.saw("PlanResourceChange");
        let ty = thing_type();
        let r = req.into_inner();
        let Value::Object(mut planned) = decode(r.proposed_new_state, &ty) else {
            return Err(Status::invalid_argument("not an object"));
        };
        planned.insert("id".into(), Value::unknown(Type::String));
        Ok(Response::new(v6::plan_resource_change::Response {
            planned_state: encode(&Value::Object(planned), &ty),
            requires_replace: vec![v6::AttributePath {
                steps: vec![v6::attribute_path::Step {
                    selector: Some(v6::attribute_path::step::Selector::AttributeName(
                        "name".into(),
                    )),
                }],
            }],
            planned_private: b"p1".to_vec(),
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<v6::apply_resource_change::Request>,
    ) -> Result<Response<v6::apply_resource_change::Response>, Status> {
        self.saw("ApplyResourceChange");
        let ty = thing_type();
        let r = req.into_inner();
        assert_eq!(r.planned_private, b"p1");
        let Value::Object(mut state) = decode(r.planned_state, &ty) else {
            return Err(Status::invalid_argument("not an object"));
        };
        state.insert("id".into(), Value::string("thing-1"));
        Ok(Response::new(v6::apply_resource_change::Response {
            new_state: encode(&Value::Object(state), &ty),
            private: b"p2".to_vec(),
            ..Default::default()
        }))
    }

    async fn call_function(
        &self,
        req: Request<v6::call_function::Request>,
    ) -> Result<Response<v6::call_function::Response>, Status> {
        self.saw("CallFunction");
        let r = req.into_inner();
        let n = decode(r.arguments.into_iter().next(), &Type::Number);
        let resp = match n.as_number().and_then(|n| n.to_i64()) {
            Some(i) => v6::call_function::Response {
                result: encode(&Value::from(i * 2), &Type::Number),
                error: None,
            },
            None => v6::call_function::Response {
                result: None,
                error: Some(v6::FunctionError {
                    text: "n must be a whole number".into(),
                    function_argument: Some(0),
                }),
            },
        };
        Ok(Response::new(resp))
    }

    async fn stop_provider(
        &self,
        _: Request<v6::stop_provider::Request>,
    ) -> Result<Response<v6::stop_provider::Response>, Status> {
        self.saw("StopProvider");
        Ok(Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl GrpcController for Mock {
    async fn shutdown(
        &self,
        _: Request<goplugin::Empty>,
    ) -> Result<Response<goplugin::Empty>, Status> {
        self.seen.lock().unwrap().shutdown = true;
        Ok(Response::new(goplugin::Empty {}))
    }
}

#[test]
fn protocol_6_against_an_in_process_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("plugin.sock");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = Mock::default();
    {
        let _guard = rt.enter();
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
        let svc = provider_server::ProviderServer::new(mock.clone());
        let ctl = GrpcControllerServer::new(mock.clone());
        rt.spawn(
            tonic::transport::Server::builder()
                .add_service(svc)
                .add_service(ctl)
                .serve_with_incoming(incoming),
        );
    }
    let script = dir.path().join("terraform-provider-mock");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho '1|6|unix|{}|grpc|'\nexec sleep 60\n",
                sock.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let mut opts = PluginOptions::new(&script);
    opts.schema_cache = Some(plugin::SchemaCache::new(dir.path().join("cache")));
    opts.shutdown_grace = Duration::from_millis(300);
    let p = PluginProvider::start(opts).unwrap();
    assert_eq!(p.protocol_version(), 6);
    assert_eq!(p.schema_load().source, SchemaSource::Plugin);

    // Schema conversion: nested attribute types, nesting modes, limits, flags.
    let schema = p.schema();
    let thing = &schema.resource_types["mock_thing"];
    assert_eq!(thing.version, 2);
    assert_eq!(thing.block.implied_type(), thing_type());
    let rules = &thing.block.attributes["rules"];
    assert_eq!(rules.nested.as_ref().unwrap().0, NestingMode::Set);
    assert!(thing.block.attributes["password"].write_only);
    assert!(thing.block.attributes["password"].sensitive);
    let tag = &thing.block.block_types["tag"];
    assert_eq!((tag.nesting, tag.max_items), (NestingMode::List, 3));
    assert_eq!(schema.functions["double"].return_type, Type::Number);

    let cfg = complete_object(&schema.provider, []);
    let diags = p.validate_provider_config(&cfg).unwrap();
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].severity, Severity::Warning);
    assert_eq!(
        diags[0].attribute,
        Some(vec![PathStep::Attr("endpoint".into())])
    );

    let cfg = complete_object(
        &schema.provider,
        [("endpoint".to_string(), Value::string("http://x"))],
    );
    assert!(p.configure("1.11.4", &cfg).unwrap().is_empty());
    assert_eq!(
        mock.seen.lock().unwrap().configured_with.as_ref(),
        Some(&cfg)
    );

    let ty = thing_type();
    let rule = |port: i64| {
        Value::object([
            ("cidr".to_string(), Value::Null(Type::String)),
            ("port".to_string(), Value::from(port)),
        ])
    };
    let rule_ty = Type::object([
        ("cidr".to_string(), Type::String),
        ("port".to_string(), Type::Number),
    ]);
    let config = complete_object(
        &thing.block,
        [
            ("name".to_string(), Value::string("a")),
            (
                "rules".to_string(),
                Value::Set(rule_ty, vec![rule(22), rule(443)]),
            ),
            (
                "sizes".to_string(),
                Value::List(
                    Type::Number,
                    vec![
                        Value::from(1i64),
                        Value::Number(value::Number::from_f64(2.5).unwrap()),
                    ],
                ),
            ),
        ],
    );
    let plan = p
        .plan_resource_change(PlanResourceChangeRequest {
            type_name: "mock_thing".into(),
            prior_state: Value::Null(ty.clone()),
            proposed_new_state: config.clone(),
            config: config.clone(),
            prior_private: vec![],
            provider_meta: None,
        })
        .unwrap();
    assert_eq!(
        plan.requires_replace,
        vec![vec![PathStep::Attr("name".into())]]
    );
    let Value::Object(planned) = &plan.planned_state else {
        panic!("{:?}", plan.planned_state)
    };
    assert!(!planned["id"].is_known());
    assert_eq!(planned["rules"], {
        let Value::Object(c) = &config else { panic!() };
        c["rules"].clone()
    });

    let applied = p
        .apply_resource_change(ApplyResourceChangeRequest {
            type_name: "mock_thing".into(),
            prior_state: Value::Null(ty.clone()),
            planned_state: plan.planned_state.clone(),
            config,
            planned_private: plan.planned_private,
            provider_meta: None,
        })
        .unwrap();
    assert_eq!(applied.private, b"p2");
    let Value::Object(state) = &applied.new_state else {
        panic!()
    };
    assert_eq!(state["id"], Value::string("thing-1"));

    assert_eq!(
        p.call_function("double", vec![Value::from(21i64)]).unwrap(),
        Ok(Value::from(42i64))
    );
    let half = Value::Number(value::Number::from_f64(0.5).unwrap());
    assert_eq!(
        p.call_function("double", vec![half]).unwrap(),
        Err(providers::FunctionError {
            argument: Some(0),
            text: "n must be a whole number".to_string()
        })
    );

    p.stop().unwrap();
    p.close();
    let seen = mock.seen.lock().unwrap();
    assert!(seen.shutdown, "GRPCController/Shutdown was not called");
    assert_eq!(
        seen.rpcs,
        [
            "GetProviderSchema",
            "ValidateProviderConfig",
            "ConfigureProvider",
            "PlanResourceChange",
            "ApplyResourceChange",
            "CallFunction",
            "CallFunction",
            "StopProvider"
        ]
    );
}
