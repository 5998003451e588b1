# References are checked before anything is evaluated, so try and can do not turn a
# reference to something never declared into a fallback or false.
locals {
  a = try(var.nope, 1)
  b = can(local.missing)
  c = try(terraform_data.none.output, "")
  d = can(module.absent.out)
  e = try(local.a, 2)
}
