//! Early refresh: reading every prior object of a provider as soon as it is configured.
//!
//! Terraform refreshes an object when the walk reaches it, after everything it depends on has
//! been planned, so one slow read (the AWS provider waits more than a second on every
//! `aws_s3_bucket_versioning`) adds to the reads in front of it. A read needs only the prior
//! object, never the configuration, so the reads can start together; the walk then takes each
//! answer where Terraform would have made the call, and reports it from there (progress lines
//! and diagnostics are unchanged). Only providers whose reads go over the network take part.

use crate::walk::Semaphore;
use providers::{Provider, ProviderError, ReadResourceRequest, ReadResourceResponse};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

type Answer = Result<ReadResourceResponse, ProviderError>;

/// One object to read, keyed by its instance address.
pub struct Item {
    pub addr: String,
    pub request: ReadResourceRequest,
}

/// Answers by instance address: `None` while the read is under way.
#[derive(Default)]
pub struct Prefetch {
    answers: Mutex<HashMap<String, Option<Answer>>>,
    ready: Condvar,
    cancelled: AtomicBool,
}

impl Prefetch {
    /// Starts reading `items` on up to `workers` threads; each call to the provider also
    /// holds a permit of `sem`, so `-parallelism` bounds reads and the walk together.
    pub fn start(
        self: &Arc<Self>,
        provider: Arc<dyn Provider>,
        sem: Arc<Semaphore>,
        items: Vec<Item>,
        workers: usize,
    ) {
        if items.is_empty() {
            return;
        }
        {
            let mut answers = self.answers.lock().expect("prefetch");
            for it in &items {
                answers.insert(it.addr.clone(), None);
            }
        }
        let workers = workers.clamp(1, items.len());
        let queue = Arc::new(Mutex::new(VecDeque::from(items)));
        for _ in 0..workers {
            let (me, queue, provider, sem) =
                (self.clone(), queue.clone(), provider.clone(), sem.clone());
            std::thread::spawn(move || loop {
                let Some(it) = queue.lock().expect("prefetch queue").pop_front() else {
                    return;
                };
                let answer = if me.cancelled.load(Ordering::Relaxed) {
                    Err(ProviderError::Other("the operation ended".into()))
                } else {
                    sem.run(|| provider.read_resource(it.request))
                };
                me.answers
                    .lock()
                    .expect("prefetch")
                    .insert(it.addr, Some(answer));
                me.ready.notify_all();
            });
        }
    }

    /// The early answer for `addr`, waiting for it if the read is still under way; `None`
    /// when no early read was made. Each answer is handed out once.
    pub fn take(&self, addr: &str) -> Option<Answer> {
        let mut answers = self.answers.lock().expect("prefetch");
        loop {
            match answers.get(addr) {
                None => return None,
                Some(Some(_)) => return answers.remove(addr).flatten(),
                Some(None) => answers = self.ready.wait(answers).expect("prefetch"),
            }
        }
    }

    /// Reads not yet started are dropped (the walk ended early).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers::builtin::TerraformProvider;
    use value::Value;

    #[test]
    fn answers_are_handed_out_once_and_unknown_addresses_are_misses() {
        let p = Arc::new(Prefetch::default());
        let provider: Arc<dyn Provider> = Arc::new(TerraformProvider);
        let items = (0..5)
            .map(|i| Item {
                addr: format!("terraform_data.x[{i}]"),
                request: ReadResourceRequest {
                    type_name: "terraform_data".into(),
                    current_state: Value::null(value::Type::Dynamic),
                    private: Vec::new(),
                    provider_meta: None,
                },
            })
            .collect();
        p.start(provider, Arc::new(Semaphore::new(2)), items, 3);
        for i in 0..5 {
            assert!(p.take(&format!("terraform_data.x[{i}]")).is_some());
            assert!(p.take(&format!("terraform_data.x[{i}]")).is_none());
        }
        assert!(p.take("terraform_data.y").is_none());
    }
}
