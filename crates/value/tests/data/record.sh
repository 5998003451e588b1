#!/bin/sh
# Records terraform console's answers for the expressions in number_exprs.txt into
# number_golden.txt (expression, tab, output). Needs terraform on PATH.
cd "$(dirname "$0")"
export TF_CLI_CONFIG_FILE=/dev/null
dir=$(mktemp -d)
: > number_golden.txt
while IFS= read -r e; do
  [ -z "$e" ] && continue
  out=$(cd "$dir" && printf "%s\n" "$e" | terraform console 2>&1 | tr -d '\n')
  printf '%s\t%s\n' "$e" "$out" >> number_golden.txt
done < number_exprs.txt
rm -rf "$dir"
