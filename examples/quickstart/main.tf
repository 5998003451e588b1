# A small stack on the built-in terraform provider: no cloud account, no server.
variable "environment" {
  type    = string
  default = "dev"
}

locals {
  services = toset(["api", "web", "worker"])
  labels   = { for s in local.services : s => "${var.environment}-${s}" }
}

resource "terraform_data" "release" {
  for_each = local.labels
  input = {
    name    = each.value
    replica = length(each.key)
  }
}

resource "terraform_data" "router" {
  input            = [for k, r in terraform_data.release : r.output.name]
  triggers_replace = var.environment
}

output "routes" {
  value = terraform_data.router.output
}
