# Terraform knows path.module, path.root and terraform.workspace while validating, so calls
# that use them are evaluated (and fail here).
locals {
  known = [
    file("${path.module}/missing.txt"),
    templatefile("${path.root}/missing.tftpl", {}),
    tonumber(terraform.workspace),
  ]
}
