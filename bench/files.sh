#!/usr/bin/env bash
# Files: libvips variants of a 24-megapixel JPEG (in-process, beside libvips' own vipsthumbnail), and a
# 200 MB upload through `plaza serve` with the server's resident memory sampled while it streams.
# Release build; loopback only; every server started here is stopped here by PID.
#   bench/files.sh
# Environment: COUNT (variants per row, default 20), UPLOAD_MB (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
count=${COUNT:-20}
upload_mb=${UPLOAD_MB:-200}
source bench/lib.sh

release_build plaza ImageBench BaselineServer

# A 6000×4000 photo-like JPEG: a gradient with noise, quality 85.
vips xyz "$work/xyz.v" 6000 4000
vips linear "$work/xyz.v" "$work/grad.v" "0.03 0.05" "10 20"
vips gaussnoise "$work/noise.v" 6000 4000 --sigma 25 --mean 0
vips add "$work/grad.v" "$work/noise.v" "$work/mix.v"
vips bandjoin "$work/mix.v $work/grad.v" "$work/rgb.v"
vips bandjoin_const "$work/rgb.v" "$work/rgb3.v" 128
vips cast "$work/rgb3.v" "$work/photo.v" uchar
vips jpegsave "$work/photo.v" "$work/photo.jpg" --Q 85
photo="$work/photo.jpg"
echo
echo "## Image variants of a 24-megapixel JPEG ($(vipsheader "$photo" | cut -d: -f2 | cut -d, -f1 | xargs), $(( $(stat -c %s "$photo") / 1024 / 1024 )) MB), $count per row"
echo
echo "| fit | box | concurrent | variants/s | ms each | peak RSS MB | libvips peak MB |"
echo "|---|---|---|---|---|---|---|"
for fit in inside smart; do
  for concurrency in 1 2; do
    "$bin/ImageBench" --image "$photo" --count "$count" --concurrency "$concurrency" --fit "$fit"
  done
done
"$bin/ImageBench" --image "$photo" --count "$count" --concurrency 1 --fit inside --width 1600 --height 1200
# libvips' own command-line thumbnailer, one process per image (start-up included), for scale.
start=$(date +%s.%N)
for i in $(seq 1 "$count"); do vipsthumbnail "$photo" --size 320x240 -o "$work/cli-%s.webp" >/dev/null; done
end=$(date +%s.%N)
python3 -c "import sys; n=$count; t=$end-$start; print(f'| vipsthumbnail (CLI, a process each) | 320x240 | 1 | {n/t:.1f} | {t/n*1000:.0f} | — | — |')"

echo
echo "## Uploading a ${upload_mb} MB file (loopback, the server's resident memory sampled every 20 ms)"
echo
echo "| how | MB/s | seconds | server RSS before | server RSS peak during |"
echo "|---|---|---|---|---|"
# A video as far as the first bytes tell (an MP4 'ftyp' box), then zeros.
python3 - "$work/big.mp4" "$upload_mb" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    chunk = b"\x00" * (1 << 20)
    for _ in range(mb):
        f.write(chunk)
PY
port=$(free_port)
"$bin/plaza" seed --demo --data-dir "$work/data" >/dev/null
PLAZA_LOG_LEVEL=warning PLAZA_RATE_LIMITS=/api/=1000000/s PLAZA_PORT="$port" PLAZA_DATA_DIR="$work/data" "$bin/plaza" serve >"$work/serve.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "http://127.0.0.1:$port/health"
token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"email":"provider@demo.plaza.test","password":"plaza-demo"}' \
  "http://127.0.0.1:$port/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
measure() {
  local label=$1; shift
  local before peak=0 start end sample
  before=$(rss)
  start=$(date +%s.%N)
  "$@" >"$work/upload.json" &
  local upload=$!
  while kill -0 "$upload" 2>/dev/null; do sample=$(rss); [ "$sample" -gt "$peak" ] && peak=$sample; sleep 0.02; done
  wait "$upload"
  end=$(date +%s.%N)
  grep -q '"id"' "$work/upload.json" || { echo "upload failed: $(cat "$work/upload.json")" >&2; exit 1; }
  python3 -c "t=$end-$start; print(f'| $label | {$upload_mb/t:.0f} | {t:.2f} | {$before/1024:.0f} MB | {$peak/1024:.0f} MB |')"
}
measure "raw body (\`?purpose=service-video\`)" curl -fs -X POST -H "Authorization: Bearer $token" -H 'Content-Type: video/mp4' \
  --data-binary @"$work/big.mp4" "http://127.0.0.1:$port/api/v1/files?purpose=service-video&name=big.mp4"
measure "multipart form (\`purpose\`, then \`file\`)" curl -fs -X POST -H "Authorization: Bearer $token" \
  -F purpose=service-video -F "file=@$work/big.mp4;type=video/mp4" "http://127.0.0.1:$port/api/v1/files"
bport=$(free_port)
"$bin/BaselineServer" "$bport" >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$bport/health"
start=$(date +%s.%N)
curl -fs -X POST -H 'Content-Type: video/mp4' --data-binary @"$work/big.mp4" "http://127.0.0.1:$bport/drain" >/dev/null
end=$(date +%s.%N)
python3 -c "t=$end-$start; print(f'| bare Hummingbird draining the body (the ceiling, for scale) | {$upload_mb/t:.0f} | {t:.2f} | — | — |')"
start=$(date +%s.%N); cp "$work/big.mp4" "$work/copy.mp4"; sync "$work/copy.mp4"; end=$(date +%s.%N)
python3 -c "t=$end-$start; print(f'| \`cp\` + sync of the same file (the disk, for scale) | {$upload_mb/t:.0f} | {t:.2f} | — | — |')"
