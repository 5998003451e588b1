//! Workspace selection and the `workspace` verbs, as Terraform keeps and reports them: the
//! selection lives in the working directory (`.terraform/environment`, or `$TF_DATA_DIR`), and
//! `TF_WORKSPACE` (passed in by the caller, never read here) overrides it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use statestore::{LockInfo, StoreError, DEFAULT_WORKSPACE};

use crate::{Stack, TERRAFORM_VERSION};

/// The file in the data directory that names the selected workspace.
pub const ENVIRONMENT_FILE: &str = "environment";

/// Where a working directory's selection is read from: what the caller knows of the process
/// environment, passed in.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `TF_WORKSPACE`: wins over the selection file when non-empty.
    pub workspace_override: Option<String>,
    /// `TF_DATA_DIR` (relative to the working directory): default `.terraform`.
    pub data_dir: Option<PathBuf>,
}

/// The workspace verbs' errors, in Terraform's words (printed as plain error text).
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("Invalid workspace name set using TF_WORKSPACE")]
    InvalidOverride,
    #[error("\nThe selected workspace is currently overridden using the TF_WORKSPACE\nenvironment variable.\n\nTo select a new workspace, either update this environment variable or unset\nit and then run this command again.\n")]
    OverriddenSelect,
    #[error("\nThe workspace is currently overridden using the TF_WORKSPACE environment\nvariable. You cannot create a new workspace when using this setting.\n\nTo create a new workspace, either unset this environment variable or update it\nto match the workspace name you are trying to create, and then run this command\nagain.\n")]
    OverriddenNew,
    #[error("Error selecting workspace: {0}")]
    Select(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Selection {
    /// The data directory of `dir` (`.terraform` unless `TF_DATA_DIR` says otherwise).
    pub fn data_dir(&self, dir: &Path) -> PathBuf {
        dir.join(
            self.data_dir
                .as_deref()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new(".terraform")),
        )
    }

    /// The selected workspace and whether `TF_WORKSPACE` chose it. Like Terraform, an
    /// unreadable or empty selection file means `default`.
    pub fn current(&self, dir: &Path) -> (String, bool) {
        if let Some(w) = self.workspace_override.as_deref().filter(|w| !w.is_empty()) {
            return (w.to_owned(), true);
        }
        let file = self.data_dir(dir).join(ENVIRONMENT_FILE);
        let name = std::fs::read_to_string(file).unwrap_or_default();
        let name = name.trim();
        if name.is_empty() {
            (DEFAULT_WORKSPACE.to_owned(), false)
        } else {
            (name.to_owned(), false)
        }
    }

    /// The selected workspace, refusing an invalid `TF_WORKSPACE` as Terraform does.
    pub fn workspace(&self, dir: &Path) -> Result<String, WorkspaceError> {
        let (name, overridden) = self.current(dir);
        if overridden && !statestore::valid_workspace_name(&name) {
            return Err(WorkspaceError::InvalidOverride);
        }
        Ok(name)
    }

    /// Writes the selection file (the name without a newline, mode 0644, as Terraform does).
    pub fn select(&self, dir: &Path, name: &str) -> std::io::Result<()> {
        let data = self.data_dir(dir);
        std::fs::create_dir_all(&data)?;
        std::fs::write(data.join(ENVIRONMENT_FILE), name)
    }
}

/// `workspace new NAME`: creates and selects it.
pub fn new(stack: &mut Stack, name: &str) -> Result<(), WorkspaceError> {
    if !statestore::valid_workspace_name(name) {
        return Err(StoreError::InvalidWorkspaceName(name.to_owned()).into());
    }
    let (current, overridden) = stack.selection().current(&stack.dir);
    if overridden && current != name {
        return Err(WorkspaceError::OverriddenNew);
    }
    stack.state_store()?.create_workspace(name)?;
    stack
        .selection()
        .select(&stack.dir, name)
        .map_err(WorkspaceError::Select)
}

/// What `workspace select` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Selected {
    /// It was selected already: Terraform prints nothing.
    Already,
    Switched,
    /// `-or-create` created it.
    Created,
}

/// `workspace select [-or-create] NAME`.
pub fn select(stack: &mut Stack, name: &str, or_create: bool) -> Result<Selected, WorkspaceError> {
    let (current, overridden) = stack.selection().current(&stack.dir);
    if overridden {
        return Err(WorkspaceError::OverriddenSelect);
    }
    if !statestore::valid_workspace_name(name) {
        return Err(StoreError::InvalidWorkspaceName(name.to_owned()).into());
    }
    let exists = stack.state_store()?.workspaces()?.iter().any(|w| w == name);
    if name == current {
        return Ok(Selected::Already);
    }
    let mut outcome = Selected::Switched;
    if !exists {
        if !or_create {
            return Err(StoreError::NoSuchWorkspace(name.to_owned()).into());
        }
        stack
            .state_store()?
            .backend()
            .create_workspace(name)
            .map_err(StoreError::from)?;
        outcome = Selected::Created;
    }
    stack
        .selection()
        .select(&stack.dir, name)
        .map_err(WorkspaceError::Select)?;
    Ok(outcome)
}

/// `workspace list`: every workspace, the current one, and whether `TF_WORKSPACE` chose it.
pub fn list(stack: &mut Stack) -> Result<(Vec<String>, String, bool), WorkspaceError> {
    let names = stack.state_store()?.workspaces()?;
    let (current, overridden) = stack.selection().current(&stack.dir);
    Ok((names, current, overridden))
}

/// `workspace delete [-force] NAME`; returns whether it still tracked resources (deleted
/// anyway with `force`, and Terraform then warns).
pub fn delete(
    stack: &mut Stack,
    name: &str,
    force: bool,
    lock: bool,
    lock_timeout: Duration,
) -> Result<bool, WorkspaceError> {
    let active = stack
        .workspace()
        .map_err(|_| WorkspaceError::InvalidOverride)?;
    let info = LockInfo::new("OperationTypeInvalid", TERRAFORM_VERSION, "");
    let cancel = stack.cancel().clone();
    let store = stack.state_store()?;
    let lock = lock.then_some((&info, lock_timeout, &cancel));
    Ok(store.delete_workspace(name, force, &active, lock)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_reads_terraforms_file_and_the_override_wins() {
        let d = tempfile::tempdir().unwrap();
        let sel = Selection::default();
        assert_eq!(sel.current(d.path()), ("default".to_owned(), false));
        sel.select(d.path(), "dev").unwrap();
        // Terraform writes the bare name; it trims what it reads.
        assert_eq!(
            std::fs::read(d.path().join(".terraform/environment")).unwrap(),
            b"dev"
        );
        std::fs::write(d.path().join(".terraform/environment"), " dev\n").unwrap();
        assert_eq!(sel.current(d.path()), ("dev".to_owned(), false));
        std::fs::write(d.path().join(".terraform/environment"), "").unwrap();
        assert_eq!(sel.workspace(d.path()).unwrap(), "default");

        let over = Selection {
            workspace_override: Some("prod".into()),
            data_dir: None,
        };
        assert_eq!(over.current(d.path()), ("prod".to_owned(), true));
        let bad = Selection {
            workspace_override: Some("a/b".into()),
            data_dir: None,
        };
        assert!(matches!(
            bad.workspace(d.path()),
            Err(WorkspaceError::InvalidOverride)
        ));
        // An empty TF_WORKSPACE is no override, as in Terraform.
        let empty = Selection {
            workspace_override: Some(String::new()),
            data_dir: None,
        };
        assert!(!empty.current(d.path()).1);

        let moved = Selection {
            workspace_override: None,
            data_dir: Some("elsewhere".into()),
        };
        moved.select(d.path(), "x").unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("elsewhere/environment")).unwrap(),
            "x"
        );
        assert_eq!(moved.current(d.path()).0, "x");
    }
}
