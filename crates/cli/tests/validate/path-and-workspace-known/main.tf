# Terraform knows path.module, path.root and terraform.workspace while validating, so calls
# that use them are evaluated (and fail here).
locals {
  missing   = file("${path.module}/missing.txt")
  also      = templatefile("${path.root}/missing.tftpl", {})
  workspace = tonumber(terraform.workspace)
}
