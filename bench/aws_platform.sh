#!/usr/bin/env bash
# Times the AWS platform stack (crates/cli/tests/aws/main.tf: 13 resources, 2 data sources)
# against a moto server: apply, a no-op plan with cold caches (no schema cache, no provider
# validation memo) and a warm no-op plan, for weir and, where installed, for Terraform.
# Usage: cargo build --release -p cli && bench/aws_platform.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
weir="$root/target/release/weir"
provider=${WEIR_TEST_AWS_PROVIDER:-/opt/tf-plugins/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5}
[ -x "$weir" ] || { echo "build first: cargo build --release -p cli" >&2; exit 1; }
[ -f "$provider" ] || { echo "SKIPPED: AWS provider not found at $provider" >&2; exit 0; }
command -v moto_server >/dev/null || { echo "SKIPPED: moto_server not installed" >&2; exit 0; }
mirror=$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$provider")")")")")")
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT
until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null; do sleep 0.1; done
cat > "$work/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
}
CFG
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
run() { # tool name, binary, bucket suffix
  local name=$1 bin=$2 dir="$work/$1"
  mkdir -p "$dir" && cd "$dir"
  sed "s/weir-artifacts/weir-artifacts-$name/; s/\"weir-locks\"/\"weir-locks-$name\"/; s/\"weir-app\"/\"weir-app-$name\"/g; s/\"weir-db\"/\"weir-db-$name\"/; s#/weir/app#/weir/app-$name#" "$root/crates/cli/tests/aws/main.tf" > main.tf
  echo "endpoint = \"http://127.0.0.1:$port\"" > terraform.tfvars
  export XDG_CACHE_HOME="$dir/.cache"
  "$bin" init -input=false >/dev/null
  local apply cold warm
  apply=$(secs "$bin" apply -input=false -auto-approve)
  rm -rf "$dir/.cache"
  cold=$(secs "$bin" plan -input=false)
  warm=$(secs "$bin" plan -input=false)
  printf '%-10s apply %6.2f s   no-op plan cold %5.2f s   no-op plan warm %5.2f s\n' "$name" "$apply" "$cold" "$warm"
}
run weir "$weir"
if command -v terraform >/dev/null; then run terraform "$(command -v terraform)"; else echo "terraform not installed: no comparison"; fi
