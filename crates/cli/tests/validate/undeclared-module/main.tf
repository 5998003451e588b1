output "x" {
  value = module.nope.out
}
