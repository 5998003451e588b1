output "x" {
  value = true ? "a" : 1 + {}
}
