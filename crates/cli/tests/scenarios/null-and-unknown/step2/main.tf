# Null outputs are not kept in state (a null one is a no-op, one that becomes null goes), and
# resources planned with no known attribute have no `values` in planned_values.
variable "s" {
  type    = string
  default = null
}

resource "terraform_data" "a" {}

resource "terraform_data" "c" {}

resource "terraform_data" "all_unknown" {
  input            = terraform_data.c.id
  triggers_replace = terraform_data.c.id
}

resource "terraform_data" "all_unknown_sensitive" {
  input            = sensitive(terraform_data.c.id)
  triggers_replace = terraform_data.c.id
}

output "was_set" {
  value = null
}

output "n" {
  value = null
}

output "s" {
  value = var.s
}

output "sensitive_null" {
  value     = null
  sensitive = true
}

output "obj" {
  value = {
    a = null
    b = var.s
    c = [null, 1]
    m = tomap({ k = null })
  }
}

output "from_resource" {
  value = terraform_data.a.input
}
