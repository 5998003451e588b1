//! The DynamoDB side of the s3 backend (JSON protocol 1.0): the lock item `LockID = BUCKET/KEY`
//! with the lock info in `Info`, and the digest item `LockID = BUCKET/KEY-md5` with `Digest`.

use serde_json::{json, Value as Json};
use statestore::{BackendError, LockError, LockInfo};

use super::{held, S3Backend};
use crate::aws::{Call, CallError};

fn call(b: &S3Backend, op: &str, body: &Json) -> Result<Json, CallError> {
    let bytes = serde_json::to_vec(body).expect("request serializes");
    let resp = b.aws.call(&Call {
        service: "dynamodb",
        method: "POST",
        endpoint: &b.dynamodb,
        host: b.dynamodb.host().to_owned(),
        path: "/".into(),
        query: Vec::new(),
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.0".into()),
            ("x-amz-target".into(), format!("DynamoDB_20120810.{op}")),
        ],
        body: &bytes,
    })?;
    Ok(serde_json::from_slice(&resp.body).unwrap_or(Json::Null))
}

fn get_attr(
    b: &S3Backend,
    table: &str,
    lock_id: &str,
    attr: &str,
) -> Result<Option<String>, CallError> {
    let resp = call(
        b,
        "GetItem",
        &json!({
            "TableName": table,
            "Key": {"LockID": {"S": lock_id}},
            "ProjectionExpression": format!("LockID, {attr}"),
            "ConsistentRead": true,
        }),
    )?;
    Ok(resp["Item"][attr]["S"].as_str().map(str::to_owned))
}

/// The digest Terraform expects of the state (`None` if no valid one is recorded).
pub fn get_digest(b: &S3Backend, table: &str, lock_id: &str) -> Result<Option<Vec<u8>>, CallError> {
    let v = get_attr(b, table, &format!("{lock_id}-md5"), "Digest")?;
    Ok(v.and_then(|h| hex::decode(h).ok())
        .filter(|d| d.len() == 16))
}

pub fn put_digest(
    b: &S3Backend,
    table: &str,
    lock_id: &str,
    hex_sum: &str,
) -> Result<(), CallError> {
    call(
        b,
        "PutItem",
        &json!({
            "TableName": table,
            "Item": {"LockID": {"S": format!("{lock_id}-md5")}, "Digest": {"S": hex_sum}},
        }),
    )
    .map(|_| ())
}

pub fn delete_item(b: &S3Backend, table: &str, lock_id: &str) -> Result<(), CallError> {
    call(
        b,
        "DeleteItem",
        &json!({"TableName": table, "Key": {"LockID": {"S": lock_id}}}),
    )
    .map(|_| ())
}

pub fn holder(b: &S3Backend, table: &str, lock_id: &str) -> Result<Option<LockInfo>, BackendError> {
    let info = get_attr(b, table, lock_id, "Info").map_err(|e| {
        e.into_backend(&format!(
            "Unable to retrieve item from DynamoDB table {table:?}"
        ))
    })?;
    match info {
        None => Ok(None),
        Some(s) => serde_json::from_str(&s).map(Some).map_err(|e| {
            BackendError::Corrupt(format!(
                "the lock info in DynamoDB table {table:?} is not valid: {e}"
            ))
        }),
    }
}

pub fn lock(
    b: &S3Backend,
    table: &str,
    lock_id: &str,
    info: &LockInfo,
) -> Result<(), BackendError> {
    let info_json = serde_json::to_string(info).expect("lock info serializes");
    let resp = call(
        b,
        "PutItem",
        &json!({
            "TableName": table,
            "Item": {"LockID": {"S": lock_id}, "Info": {"S": info_json}},
            "ConditionExpression": "attribute_not_exists(LockID)",
        }),
    );
    match resp {
        Ok(_) => Ok(()),
        Err(CallError::Api(e)) if e.code == "ConditionalCheckFailedException" => {
            let holder = holder(b, table, lock_id).ok().flatten();
            Err(held(
                format!("operation error DynamoDB: PutItem, {e}"),
                holder,
            ))
        }
        Err(e) => Err(e.into_backend(&format!("locking with DynamoDB table {table:?}"))),
    }
}

pub fn unlock(b: &S3Backend, table: &str, lock_id: &str, id: &str) -> Result<(), BackendError> {
    let stored = get_attr(b, table, lock_id, "Info").map_err(|e| {
        BackendError::Refused(format!(
            "failed to retrieve lock info for lock ID {id:?}: {e}"
        ))
    })?;
    let Some(stored) = stored else {
        return Err(BackendError::Refused(format!(
            "failed to retrieve lock info for lock ID {id:?}: the lock item does not exist"
        )));
    };
    let current: LockInfo = serde_json::from_str(&stored).map_err(|e| {
        BackendError::Corrupt(format!(
            "the lock info in DynamoDB table {table:?} is not valid: {e}"
        ))
    })?;
    if current.id != id {
        return Err(LockError::IdMismatch {
            given: id.to_owned(),
            held: current.id,
        }
        .into());
    }
    // Delete only the lock that was read, so a lock taken in between survives.
    call(
        b,
        "DeleteItem",
        &json!({
            "TableName": table,
            "Key": {"LockID": {"S": lock_id}},
            "ConditionExpression": "Info = :info",
            "ExpressionAttributeValues": {":info": {"S": stored}},
        }),
    )
    .map(|_| ())
    .map_err(|e| e.into_backend(&format!("unlocking in DynamoDB table {table:?}")))
}
