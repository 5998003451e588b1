module "net" {
  source = "./mods/net"
  names  = ["a", "b"]
}
module "app" {
  source   = "./mods/app"
  for_each = module.net.ids
  net_id   = each.value
  tags     = module.net.tags
}
resource "terraform_data" "root" {
  for_each = module.app
  input    = each.value.inner_ids
}
output "app_ids" {
  value = { for k, m in module.app : k => m.inner_ids }
}
