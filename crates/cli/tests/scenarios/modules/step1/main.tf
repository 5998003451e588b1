module "m" {
  source = "./mod"
  count  = 2
  name   = "n${count.index}"
}
module "f" {
  source   = "./mod"
  for_each = { a = "x", b = "y" }
  name     = each.value
}
output "ids" {
  value = [for m in module.m : m.input]
}
output "f" {
  value = { for k, m in module.f : k => m.input }
}
