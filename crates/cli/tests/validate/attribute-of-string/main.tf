locals {
  s = "text"
}

output "x" {
  value = local.s.field
}
