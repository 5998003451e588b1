variable "net_id" {
  type = string
}
variable "tags" {
  type = map(string)
}
resource "terraform_data" "app" {
  input = { net = var.net_id, tags = var.tags }
}
module "inner" {
  source = "./inner"
  ids    = [for k, v in var.tags : "${k}:${terraform_data.app.id}"]
}
output "inner_ids" {
  value = module.inner.ids
}
