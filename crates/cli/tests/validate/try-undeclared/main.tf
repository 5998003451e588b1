# References are checked before anything is evaluated, so try and can do not turn a
# reference to an undeclared variable or local value into a fallback or false. (One
# expression, so Terraform reports the errors in a fixed order.)
locals {
  all = [try(var.nope, 1), can(local.missing)]
}
