//! Hashing and crypto functions: md5/sha1/sha256/sha512 (hex and base64, of strings and
//! files), bcrypt, RSA decryption, and UUIDs (random v4 and name-based v5).

use base64::Engine;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use value::{Type, Value};

use crate::framework::{arg_err, call_err, func, p, Function};

fn md5(b: &[u8]) -> Vec<u8> {
    md5::Md5::digest(b).to_vec()
}
fn sha1(b: &[u8]) -> Vec<u8> {
    Sha1::digest(b).to_vec()
}
fn sha256(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}
fn sha512(b: &[u8]) -> Vec<u8> {
    Sha512::digest(b).to_vec()
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    type H = fn(&[u8]) -> Vec<u8>;
    let hashes: [(&'static str, &'static str, H, bool); 6] = [
        ("md5", "filemd5", md5, false),
        ("sha1", "filesha1", sha1, false),
        ("sha256", "filesha256", sha256, false),
        ("sha512", "filesha512", sha512, false),
        ("base64sha256", "filebase64sha256", sha256, true),
        ("base64sha512", "filebase64sha512", sha512, true),
    ];
    for (name, fname, _, _) in hashes {
        let (imp, fimp): (crate::framework::ImplFn, crate::framework::ImplFn) = match name {
            "md5" => (
                |a| Ok(Value::String(hex::encode(md5(a.str(0).as_bytes())))),
                |a| {
                    Ok(Value::String(hex::encode(md5(
                        &crate::filesystem::read_file(a, 0)?,
                    ))))
                },
            ),
            "sha1" => (
                |a| Ok(Value::String(hex::encode(sha1(a.str(0).as_bytes())))),
                |a| {
                    Ok(Value::String(hex::encode(sha1(
                        &crate::filesystem::read_file(a, 0)?,
                    ))))
                },
            ),
            "sha256" => (
                |a| Ok(Value::String(hex::encode(sha256(a.str(0).as_bytes())))),
                |a| {
                    Ok(Value::String(hex::encode(sha256(
                        &crate::filesystem::read_file(a, 0)?,
                    ))))
                },
            ),
            "sha512" => (
                |a| Ok(Value::String(hex::encode(sha512(a.str(0).as_bytes())))),
                |a| {
                    Ok(Value::String(hex::encode(sha512(
                        &crate::filesystem::read_file(a, 0)?,
                    ))))
                },
            ),
            "base64sha256" => (
                |a| {
                    Ok(Value::String(crate::encoding::b64(&sha256(
                        a.str(0).as_bytes(),
                    ))))
                },
                |a| {
                    Ok(Value::String(crate::encoding::b64(&sha256(
                        &crate::filesystem::read_file(a, 0)?,
                    ))))
                },
            ),
            _ => (
                |a| {
                    Ok(Value::String(crate::encoding::b64(&sha512(
                        a.str(0).as_bytes(),
                    ))))
                },
                |a| {
                    Ok(Value::String(crate::encoding::b64(&sha512(
                        &crate::filesystem::read_file(a, 0)?,
                    ))))
                },
            ),
        };
        fs.push(
            func(name, vec![p("str", Type::String)])
                .ret(Type::String)
                .imp(imp)
                .build(),
        );
        fs.push(
            func(fname, vec![p("path", Type::String)])
                .ret(Type::String)
                .imp(fimp)
                .build(),
        );
    }
    fs.push(
        func("bcrypt", vec![p("str", Type::String)])
            .var(p("cost", Type::Number))
            .ret(Type::String)
            .imp(|a| {
                let cost = match a.vals.get(1) {
                    Some(_) => a.num(1).to_i64().unwrap_or(10) as u32,
                    None => 10,
                };
                if a.vals.len() > 2 {
                    return Err(call_err("bcrypt() takes no more than two arguments"));
                }
                let h = bcrypt::hash(a.str(0), cost)
                    .map_err(|e| call_err(format!("error occured generating password {e}")))?;
                // Go's bcrypt writes the $2a$ prefix.
                Ok(Value::String(h.replacen("$2b$", "$2a$", 1)))
            })
            .build(),
    );
    fs.push(
        func(
            "rsadecrypt",
            vec![p("ciphertext", Type::String), p("privatekey", Type::String)],
        )
        .ret(Type::String)
        .imp(|a| {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::DecodePrivateKey;
            let ct = base64::engine::general_purpose::STANDARD
                .decode(a.str(0))
                .map_err(|_| {
                    arg_err(
                        0,
                        "failed to decode input \"ciphertext\": cipher text must be base64-encoded",
                    )
                })?;
            let pem = a.str(1);
            let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
                .map_err(|_| {
                    // Go's parser says "no key found" when there is no PEM block at all.
                    if pem.contains("-----BEGIN") {
                        arg_err(1, "invalid private key: failed to parse key")
                    } else {
                        arg_err(1, "invalid private key: ssh: no key found")
                    }
                })?;
            let pt = key
                .decrypt(rsa::Pkcs1v15Encrypt, &ct)
                .map_err(|_| call_err("failed to decrypt: crypto/rsa: decryption error"))?;
            String::from_utf8(pt)
                .map(Value::String)
                .map_err(|_| call_err("the result of decryption is not valid UTF-8"))
        })
        .build(),
    );
    fs.push(
        func("uuid", vec![])
            .ret(Type::String)
            .imp(|_| Ok(Value::String(uuid::Uuid::new_v4().to_string())))
            .build(),
    );
    fs.push(
        func(
            "uuidv5",
            vec![p("namespace", Type::String), p("name", Type::String)],
        )
        .ret(Type::String)
        .imp(|a| {
            let ns = match a.str(0) {
                "dns" => uuid::Uuid::NAMESPACE_DNS,
                "url" => uuid::Uuid::NAMESPACE_URL,
                "oid" => uuid::Uuid::NAMESPACE_OID,
                "x500" => uuid::Uuid::NAMESPACE_X500,
                other => uuid::Uuid::parse_str(other).map_err(|_| {
                    // Terraform passes on the reason of Go's UUID parser.
                    let why = if other.len() != 36 && other.len() != 32 {
                        format!("invalid UUID length: {}", other.len())
                    } else {
                        "invalid UUID format".to_string()
                    };
                    call_err(format!(
                        "uuidv5() doesn't support namespace {other} ({why})"
                    ))
                })?,
            };
            Ok(Value::String(
                uuid::Uuid::new_v5(&ns, a.str(1).as_bytes()).to_string(),
            ))
        })
        .build(),
    );
}
