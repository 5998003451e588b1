# try and can do not hide references to undeclared resources or module calls either.
locals {
  all = [try(terraform_data.none.output, ""), can(module.absent.out)]
}
