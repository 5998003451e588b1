# A UTF-8 byte order mark starts this file; Terraform ignores it.
locals {
  a = 1
}
