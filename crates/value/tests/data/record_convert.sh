#!/bin/sh
# Records terraform console's rendering of each expression in convert_exprs.txt into
# convert_golden.txt as "### <expression>" followed by the output. Needs terraform.
cd "$(dirname "$0")"
export TF_CLI_CONFIG_FILE=/dev/null
dir=$(mktemp -d)
: > convert_golden.txt
while IFS= read -r e; do
  [ -z "$e" ] && continue
  printf '### %s\n' "$e" >> convert_golden.txt
  (cd "$dir" && printf "%s\n" "$e" | terraform console 2>&1) >> convert_golden.txt
done < convert_exprs.txt
rm -rf "$dir"
