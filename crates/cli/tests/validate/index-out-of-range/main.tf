locals {
  l = [1, 2]
}

output "x" {
  value = local.l[5]
}
