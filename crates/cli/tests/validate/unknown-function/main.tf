output "x" {
  value = upperr("a")
}
