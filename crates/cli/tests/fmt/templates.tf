variable "legacy" {
  type = "string"
}
variable "legacy_list" {
  type = "list"
}
variable "bare_map" {
  type = map
}
output "unwrap" {
  value = "${var.legacy}"
}
output "keep" {
  value = "prefix-${var.legacy}"
}
output "nested" {
  value = "${upper("${var.legacy}")}"
}
output "multi" {
  value = "${
    var.a ? var.b : var.c
  }"
}
output "heredoc" {
  value = <<-EOT
    Hello ${var.legacy}!
      %{ for x in var.legacy_list ~}
      ${x}
      %{ endfor ~}
  EOT
}
output "plain_heredoc" {
  value = <<EOT
no   change   here
EOT
}
output "escapes" {
  value = "$${not} %%{this} \"q\" ${ var.legacy }"
}
