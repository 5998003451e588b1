#!/bin/sh
# Records terraform console's rendering of each expression in console_exprs.txt into
# console_golden.txt as "### <expression>" followed by the output. Needs terraform.
cd "$(dirname "$0")"
export TF_CLI_CONFIG_FILE=/dev/null
dir=$(mktemp -d)
: > console_golden.txt
while IFS= read -r e; do
  [ -z "$e" ] && continue
  printf '### %s\n' "$e" >> console_golden.txt
  (cd "$dir" && printf "%s\n" "$e" | terraform console 2>&1) >> console_golden.txt
done < console_exprs.txt
rm -rf "$dir"
