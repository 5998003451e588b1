//! Terraform datetime functions (being written).

use crate::framework::Function;

pub(crate) fn register(_fs: &mut Vec<Function>) {}
