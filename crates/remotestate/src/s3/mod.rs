//! The `s3` backend: state objects in a bucket (`KEY` for `default`, `PREFIX/WORKSPACE/KEY`
//! otherwise), locks as Terraform 1.11 takes them (a `KEY.tflock` object created with
//! `If-None-Match: *`, and/or a DynamoDB item `LockID = BUCKET/KEY` holding the lock info), and
//! the `BUCKET/KEY-md5` digest item Terraform checks on every read when a table is configured.

mod config;
mod dynamo;

use std::time::{Duration, Instant};

use base64::Engine;
use md5::{Digest, Md5};
use statestore::{Backend, BackendError, LockInfo};

pub use config::S3Config;

use crate::aws::{self, Aws, Call, CallError, CredentialSources, Endpoint};
use crate::config::{invalid, ConfigError};
use crate::httpc::{self, Client, Resp};
use crate::sigv4::uri_encode;

/// How long a read waits for S3 to catch up with the digest DynamoDB holds, and how often it
/// looks again (Terraform's `consistencyRetryTimeout` and poll interval).
const CONSISTENCY_TIMEOUT: Duration = Duration::from_secs(10);
const CONSISTENCY_POLL: Duration = Duration::from_secs(2);

pub struct S3Backend {
    cfg: S3Config,
    aws: Aws,
    s3: Endpoint,
    dynamodb: Endpoint,
}

fn no_such_bucket(bucket: &str, err: &dyn std::fmt::Display) -> BackendError {
    BackendError::Refused(format!(
        "S3 bucket {bucket:?} does not exist.\n\n\
         The referenced S3 bucket must have been previously created. If the S3 bucket\n\
         was created within the last minute, please wait for a minute or two and try\n\
         again.\n\nError: {err}\n"
    ))
}

impl S3Backend {
    /// Terraform's `Configure`: resolves credentials and endpoints and, unless skipped,
    /// validates the credentials with STS and checks the account against the allow/deny lists.
    pub fn configure(cfg: S3Config) -> Result<S3Backend, ConfigError> {
        let creds = aws::resolve_credentials(&CredentialSources {
            access_key: cfg.access_key.clone(),
            secret_key: cfg.secret_key.clone(),
            token: cfg.token.clone(),
            profile: cfg.profile.clone(),
            shared_credentials_files: cfg.shared_credentials_files.clone(),
            shared_config_files: cfg.shared_config_files.clone(),
            env: &cfg.env,
        })
        .map_err(|d| ConfigError::Invalid(vec![d]))?;
        let ca_pem = match &cfg.custom_ca_bundle {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| invalid(format!("reading custom_ca_bundle {path:?}: {e}")))?,
            ),
            None => None,
        };
        let client = Client::new(&httpc::Tls {
            skip_verification: cfg.insecure,
            ca_pem,
            client_cert_pem: None,
        })
        .map_err(invalid)?;
        let (fips, dual) = (cfg.use_fips_endpoint, cfg.use_dualstack_endpoint);
        let s3 = cfg
            .s3_endpoint
            .as_deref()
            .map(Endpoint::custom)
            .unwrap_or_else(|| aws::default_endpoint("s3", &cfg.region, fips, dual));
        let dynamodb = cfg
            .dynamodb_endpoint
            .as_deref()
            .map(Endpoint::custom)
            .unwrap_or_else(|| aws::default_endpoint("dynamodb", &cfg.region, fips, dual));
        let aws = Aws {
            region: cfg.region.clone(),
            creds,
            client,
            max_retries: cfg.max_retries,
        };
        let backend = S3Backend {
            aws,
            s3,
            dynamodb,
            cfg,
        };
        backend.validate_account()?;
        Ok(backend)
    }

    fn validate_account(&self) -> Result<(), ConfigError> {
        let cfg = &self.cfg;
        if cfg.skip_credentials_validation && cfg.skip_requesting_account_id {
            return Ok(());
        }
        let sts_region = cfg.sts_region.clone().unwrap_or_else(|| cfg.region.clone());
        let sts = cfg
            .sts_endpoint
            .as_deref()
            .map(Endpoint::custom)
            .unwrap_or_else(|| {
                aws::default_endpoint("sts", &sts_region, cfg.use_fips_endpoint, false)
            });
        let sts_aws = Aws {
            region: sts_region,
            creds: self.aws.creds.clone(),
            client: self.aws.client.clone(),
            max_retries: self.aws.max_retries,
        };
        let account = match aws::caller_account(&sts_aws, &sts) {
            Ok(a) => a,
            Err(e) if cfg.skip_credentials_validation => {
                // Only the account ID was wanted: Terraform warns and goes on.
                let _ = e;
                return Ok(());
            }
            Err(e) => {
                return Err(ConfigError::Backend(e.into_backend(
                    "validating provider credentials: retrieving caller identity from STS",
                )))
            }
        };
        if !cfg.allowed_account_ids.is_empty() && !cfg.allowed_account_ids.contains(&account) {
            return Err(invalid(format!("AWS account ID not allowed: {account}")));
        }
        if cfg.forbidden_account_ids.contains(&account) {
            return Err(invalid(format!("AWS account ID not allowed: {account}")));
        }
        Ok(())
    }

    /// The object key of a workspace's state (Terraform's `path`).
    pub fn state_key(&self, workspace: &str) -> String {
        if workspace == crate::DEFAULT_WORKSPACE {
            return self.cfg.key.clone();
        }
        // Go's path.Join: empty elements dropped, the result cleaned.
        let joined: Vec<&str> = [
            self.cfg.workspace_key_prefix.as_str(),
            workspace,
            &self.cfg.key,
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
        clean_path(&joined.join("/"))
    }

    fn lock_file_key(&self, workspace: &str) -> String {
        format!("{}.tflock", self.state_key(workspace))
    }

    /// `BUCKET/KEY`: the DynamoDB `LockID` and the lock info's `Path`.
    fn lock_id(&self, workspace: &str) -> String {
        format!("{}/{}", self.cfg.bucket, self.state_key(workspace))
    }

    /// Host and canonical path of an object (or of the bucket when `key` is empty).
    fn object_target(&self, key: &str) -> (String, String) {
        let enc = uri_encode(key, true);
        if self.cfg.use_path_style {
            let path = if key.is_empty() {
                format!("/{}", uri_encode(&self.cfg.bucket, false))
            } else {
                format!("/{}/{enc}", uri_encode(&self.cfg.bucket, false))
            };
            (self.s3.host().to_owned(), path)
        } else {
            (
                format!("{}.{}", self.cfg.bucket, self.s3.host()),
                format!("/{enc}"),
            )
        }
    }

    fn s3_call(
        &self,
        method: &str,
        key: &str,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Result<Resp, CallError> {
        let (host, path) = self.object_target(key);
        self.aws.call(&Call {
            service: "s3",
            method,
            endpoint: &self.s3,
            host,
            path,
            query,
            headers,
            body,
        })
    }

    fn sse_c_headers(&self) -> Vec<(String, String)> {
        match (&self.cfg.sse_customer_key, self.cfg.encrypt) {
            (Some(k), true) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(k)
                    .unwrap_or_default();
                let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&raw));
                vec![
                    (
                        "x-amz-server-side-encryption-customer-algorithm".into(),
                        "AES256".into(),
                    ),
                    (
                        "x-amz-server-side-encryption-customer-key".into(),
                        k.clone(),
                    ),
                    ("x-amz-server-side-encryption-customer-key-md5".into(), md5),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// The headers of a PutObject as Terraform sends them: JSON content type, SHA-256
    /// checksum (unless `skip_s3_checksum`), encryption and ACL.
    fn put_headers(&self, body: &[u8]) -> Vec<(String, String)> {
        let mut h = vec![("content-type".to_owned(), "application/json".to_owned())];
        if !self.cfg.skip_s3_checksum {
            let sum = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
            h.push(("x-amz-checksum-sha256".into(), sum));
            h.push(("x-amz-sdk-checksum-algorithm".into(), "SHA256".into()));
        }
        if self.cfg.encrypt {
            if let Some(kms) = &self.cfg.kms_key_id {
                h.push(("x-amz-server-side-encryption".into(), "aws:kms".into()));
                h.push((
                    "x-amz-server-side-encryption-aws-kms-key-id".into(),
                    kms.clone(),
                ));
            } else if self.cfg.sse_customer_key.is_some() {
                h.extend(self.sse_c_headers());
            } else {
                h.push(("x-amz-server-side-encryption".into(), "AES256".into()));
            }
        }
        if let Some(acl) = &self.cfg.acl {
            h.push(("x-amz-acl".into(), acl.clone()));
        }
        h
    }

    /// GetObject: `None` for a missing (or empty) object; a missing bucket is an error.
    fn get_object(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        match self.s3_call("GET", key, Vec::new(), self.sse_c_headers(), b"") {
            Ok(r) if r.body.is_empty() => Ok(None),
            Ok(r) => Ok(Some(r.body)),
            Err(CallError::Api(e)) if e.code == "NoSuchKey" => Ok(None),
            Err(CallError::Api(e)) if e.code == "NoSuchBucket" => {
                Err(no_such_bucket(&self.cfg.bucket, &e))
            }
            Err(e) => Err(e.into_backend(&format!(
                "Unable to access object {key:?} in S3 bucket {:?}",
                self.cfg.bucket
            ))),
        }
    }

    fn delete_object(&self, key: &str) -> Result<(), CallError> {
        self.s3_call("DELETE", key, Vec::new(), Vec::new(), b"")
            .map(|_| ())
    }

    /// Every key under `prefix` (ListObjectsV2, all pages).
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, CallError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("list-type".to_owned(), "2".to_owned()),
                ("max-keys".to_owned(), "1000".to_owned()),
                ("prefix".to_owned(), prefix.to_owned()),
            ];
            if let Some(t) = &token {
                query.push(("continuation-token".to_owned(), t.clone()));
            }
            let resp = self.s3_call("GET", "", query, Vec::new(), b"")?;
            let text = String::from_utf8_lossy(&resp.body);
            for contents in aws::xml_all(&text, "Contents") {
                if let Some(k) = aws::xml_text(&format!("<C>{contents}</C>"), "Key") {
                    keys.push(k);
                }
            }
            let truncated = aws::xml_text(&text, "IsTruncated").as_deref() == Some("true");
            token = aws::xml_text(&text, "NextContinuationToken");
            if !truncated || token.is_none() {
                return Ok(keys);
            }
        }
    }

    /// Terraform's `keyEnv`: the workspace a listed key belongs to, if any.
    fn key_workspace(&self, key: &str) -> Option<String> {
        let prefix = &self.cfg.workspace_key_prefix;
        if prefix.is_empty() {
            let (ws, rest) = key.split_once('/')?;
            return (rest == self.cfg.key).then(|| ws.to_owned());
        }
        let rest = key.strip_prefix(&format!("{prefix}/"))?;
        let (ws, rest) = rest.split_once('/')?;
        (rest == self.cfg.key).then(|| ws.to_owned())
    }

    fn lock_with_file(&self, workspace: &str, info: &LockInfo) -> Result<(), BackendError> {
        let body = serde_json::to_vec(info).expect("lock info serializes");
        let key = self.lock_file_key(workspace);
        let mut headers = self.put_headers(&body);
        headers.push(("if-none-match".into(), "*".into()));
        match self.s3_call("PUT", &key, Vec::new(), headers, &body) {
            Ok(_) => Ok(()),
            Err(CallError::Api(e))
                if e.code == "PreconditionFailed"
                    || e.status == 412
                    || e.code == "ConditionalRequestConflict" =>
            {
                let holder = self.lock_file_holder(workspace).ok().flatten();
                Err(held(format!("{e}"), holder))
            }
            Err(CallError::Api(e)) if e.code == "NoSuchBucket" => {
                Err(no_such_bucket(&self.cfg.bucket, &e))
            }
            Err(e) => Err(e.into_backend(&format!(
                "writing the lock file {key:?} in S3 bucket {:?}",
                self.cfg.bucket
            ))),
        }
    }

    fn lock_file_holder(&self, workspace: &str) -> Result<Option<LockInfo>, BackendError> {
        let key = self.lock_file_key(workspace);
        match self.get_object(&key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                BackendError::Corrupt(format!(
                    "failed to unmarshal JSON data into LockInfo struct: {e}"
                ))
            }),
        }
    }

    fn unlock_with_file(&self, workspace: &str, id: &str) -> Result<(), BackendError> {
        let key = self.lock_file_key(workspace);
        let holder = self.lock_file_holder(workspace)?.ok_or_else(|| {
            BackendError::Refused(format!(
                "unable to retrieve file from S3 bucket '{}' with key '{key}': the lock file does not exist",
                self.cfg.bucket
            ))
        })?;
        if holder.id != id {
            return Err(statestore::LockError::IdMismatch {
                given: id.to_owned(),
                held: holder.id,
            }
            .into());
        }
        self.delete_object(&key)
            .map_err(|e| e.into_backend("failed to delete the lock file"))
    }
}

pub(crate) fn held(reason: String, holder: Option<LockInfo>) -> BackendError {
    statestore::LockError::Held {
        reason,
        holder: holder.map(Box::new),
    }
    .into()
}

/// Go's `path.Clean` for the relative paths state keys are.
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            x => out.push(x),
        }
    }
    out.join("/")
}

impl Backend for S3Backend {
    fn kind(&self) -> &'static str {
        "s3"
    }

    fn location(&self, workspace: &str) -> String {
        format!("s3://{}/{}", self.cfg.bucket, self.state_key(workspace))
    }

    fn workspaces(&self) -> Result<Vec<String>, BackendError> {
        let prefix = if self.cfg.workspace_key_prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.cfg.workspace_key_prefix)
        };
        let mut names = vec![crate::DEFAULT_WORKSPACE.to_owned()];
        match self.list_keys(&prefix) {
            Ok(keys) => {
                let mut others: Vec<String> =
                    keys.iter().filter_map(|k| self.key_workspace(k)).collect();
                others.sort();
                others.dedup();
                names.extend(others);
                Ok(names)
            }
            Err(CallError::Api(e)) if e.code == "NoSuchBucket" => {
                Err(no_such_bucket(&self.cfg.bucket, &e))
            }
            // Terraform lists only `default` when it may not list the default prefix.
            Err(CallError::Api(e))
                if e.code == "AccessDenied"
                    && self.cfg.workspace_key_prefix == config::DEFAULT_WORKSPACE_KEY_PREFIX =>
            {
                Ok(names)
            }
            Err(e) => Err(e.into_backend(&format!(
                "Unable to list objects in S3 bucket {:?} with prefix {prefix:?}",
                self.cfg.bucket
            ))),
        }
    }

    fn create_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        if self.get(workspace)?.is_some() {
            return Ok(());
        }
        // As Terraform: take the lock, write an empty state if there still is none, unlock.
        let locking = self.supports_locking();
        let info = LockInfo::new("init", crate::TERRAFORM_VERSION, "");
        if locking {
            self.lock(workspace, &info)?;
        }
        let result = match self.get(workspace) {
            Ok(None) => self.put(workspace, &crate::empty_state()),
            Ok(Some(_)) => Ok(()),
            Err(e) => Err(e),
        };
        if locking {
            self.unlock(workspace, &info.id)?;
        }
        result
    }

    fn delete_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        if workspace == crate::DEFAULT_WORKSPACE || workspace.is_empty() {
            return Err(BackendError::Refused("can't delete default state".into()));
        }
        let key = self.state_key(workspace);
        self.delete_object(&key)
            .map_err(|e| e.into_backend(&format!("deleting {}", self.location(workspace))))?;
        if let Some(table) = &self.cfg.dynamodb_table {
            dynamo::delete_item(self, table, &format!("{}-md5", self.lock_id(workspace))).map_err(
                |e| {
                    e.into_backend(&format!(
                        "Unable to delete item from DynamoDB table {table:?}"
                    ))
                },
            )?;
        }
        Ok(())
    }

    fn get(&self, workspace: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let key = self.state_key(workspace);
        let deadline = Instant::now() + CONSISTENCY_TIMEOUT;
        loop {
            let data = self.get_object(&key)?;
            let Some(table) = &self.cfg.dynamodb_table else {
                return Ok(data);
            };
            let digest = data.as_ref().map(|d| Md5::digest(d).to_vec());
            // Terraform only warns when the digest cannot be read.
            let Ok(Some(expected)) = dynamo::get_digest(self, table, &self.lock_id(workspace))
            else {
                return Ok(data);
            };
            if Some(&expected) == digest.as_ref() {
                return Ok(data);
            }
            if Instant::now() + CONSISTENCY_POLL > deadline {
                return Err(bad_checksum(
                    &self.cfg.bucket,
                    &key,
                    digest.as_deref(),
                    &expected,
                ));
            }
            std::thread::sleep(CONSISTENCY_POLL);
        }
    }

    fn put(&self, workspace: &str, bytes: &[u8]) -> Result<(), BackendError> {
        let key = self.state_key(workspace);
        match self.s3_call("PUT", &key, Vec::new(), self.put_headers(bytes), bytes) {
            Ok(_) => {}
            Err(CallError::Api(e)) if e.code == "NoSuchBucket" => {
                return Err(no_such_bucket(&self.cfg.bucket, &e))
            }
            Err(e) => return Err(e.into_backend("failed to upload state")),
        }
        if let Some(table) = &self.cfg.dynamodb_table {
            let sum = hex::encode(Md5::digest(bytes));
            dynamo::put_digest(self, table, &self.lock_id(workspace), &sum)
                .map_err(|e| e.into_backend("failed to store state MD5"))?;
        }
        Ok(())
    }

    fn supports_locking(&self) -> bool {
        self.cfg.use_lockfile || self.cfg.dynamodb_table.is_some()
    }

    fn lock(&self, workspace: &str, info: &LockInfo) -> Result<(), BackendError> {
        let mut info = info.clone();
        info.path = self.lock_id(workspace);
        if self.cfg.use_lockfile {
            self.lock_with_file(workspace, &info)?;
        }
        if let Some(table) = &self.cfg.dynamodb_table {
            if let Err(e) = dynamo::lock(self, table, &self.lock_id(workspace), &info) {
                if self.cfg.use_lockfile {
                    if let Err(cleanup) = self.unlock_with_file(workspace, &info.id) {
                        return Err(BackendError::Refused(format!(
                            "failed to clean up file lock after DynamoDB lock error: {cleanup}; original error: {e}"
                        )));
                    }
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn unlock(&self, workspace: &str, id: &str) -> Result<(), BackendError> {
        let file = self
            .cfg
            .use_lockfile
            .then(|| self.unlock_with_file(workspace, id));
        let table = self
            .cfg
            .dynamodb_table
            .as_ref()
            .map(|t| dynamo::unlock(self, t, &self.lock_id(workspace), id));
        match (file, table) {
            // Both hold another lock: say so once.
            (Some(Err(f @ BackendError::Lock(_))), Some(Err(BackendError::Lock(_)))) => Err(f),
            (Some(Err(f)), Some(Err(d))) => Err(BackendError::Refused(format!(
                "failed to unlock both S3 and DynamoDB: S3 error: {f}, DynamoDB error: {d}"
            ))),
            (Some(Err(e)), _) | (_, Some(Err(e))) => Err(e),
            _ => Ok(()),
        }
    }

    fn lock_holder(&self, workspace: &str) -> Result<Option<LockInfo>, BackendError> {
        if self.cfg.use_lockfile {
            if let Some(h) = self.lock_file_holder(workspace)? {
                return Ok(Some(h));
            }
        }
        match &self.cfg.dynamodb_table {
            Some(t) => dynamo::holder(self, t, &self.lock_id(workspace)),
            None => Ok(None),
        }
    }
}

fn bad_checksum(bucket: &str, key: &str, digest: Option<&[u8]>, expected: &[u8]) -> BackendError {
    let calculated = digest.map(hex::encode).unwrap_or_default();
    let resolution = if digest.is_some() {
        format!(
            "If this problem persists, and neither S3 nor DynamoDB are experiencing an\n\
             outage, you may need to manually verify the remote state and update the Digest\n\
             value stored in the DynamoDB table to the following value: {calculated}"
        )
    } else {
        "If this problem persists, and neither S3 nor DynamoDB are experiencing an\n\
         outage, you may need to manually verify the remote state and remove the Digest\n\
         value stored in the DynamoDB table"
            .to_owned()
    };
    BackendError::Corrupt(format!(
        "state data in S3 does not have the expected content.\n\n\
         The checksum calculated for the state stored in S3 does not match the checksum\n\
         stored in DynamoDB.\n\n\
         Bucket: {bucket}\nKey:    {key}\nCalculated checksum: {calculated}\nStored checksum:     {}\n\n\
         This may be caused by unusually long delays in S3 processing a previous state\n\
         update. Please wait for a minute or two and try again.\n\n{resolution}\n",
        hex::encode(expected)
    ))
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn joins_keys_like_go_path_join() {
        assert_eq!(clean_path("env:/dev/a/b.tfstate"), "env:/dev/a/b.tfstate");
        assert_eq!(clean_path("env://dev/./b"), "env:/dev/b");
    }
}
