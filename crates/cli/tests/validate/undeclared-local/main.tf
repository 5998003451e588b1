locals {
  a = 1
}

output "x" {
  value = local.b + local.a
}
