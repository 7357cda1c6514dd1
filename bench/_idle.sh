source "$(dirname "$0")/common.sh"
start_pgbench_paths
pm=$(head -1 "$work/pg/data/postmaster.pid")
cpu() { awk '/^cpu / {print $2+$3+$4+$6+$7+$8}' /proc/stat; }
pgt() { local t=0; for p in $(pgrep -u postgres -x postgres); do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $((t + $(awk '{print $16+$17}' /proc/$pm/stat))); }
for p in "pgbouncer host=127.0.0.1 port=$bouncerport dbname=bench user=bench bench" "gateway host=127.0.0.1 port=$gwport dbname=bench user=agent $token" "pgbouncer host=127.0.0.1 port=$bouncerport dbname=bench user=bench bench" "gateway host=127.0.0.1 port=$gwport dbname=bench user=agent $token"; do
  set -- $p
  name=$1; conn="$2 $3 $4 $5"; pw=$6
  a=$(cpu); pa=$(pgt)
  out=$( { PGPASSWORD=$pw /usr/bin/time -f "pgbench-cpu %U %S" pgbench -n -S -M simple -c 4 -j 2 -T 8 "$conn"; } 2>&1 | grep '^tps\|pgbench-cpu' | sed 's/(without initial connection time)//' | tr '\n' ' ')
  sleep 0.5; b=$(cpu); pb=$(pgt)
  echo "$name $out total-busy-ticks $((b-a)) postgres-ticks $((pb-pa))"
done
