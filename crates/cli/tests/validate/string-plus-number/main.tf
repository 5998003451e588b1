output "x" {
  value = "a" + 1
}
