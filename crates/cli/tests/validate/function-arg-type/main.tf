output "x" {
  value = abs("ten")
}
