#!/usr/bin/env bash
# The layers, checked on every #include: each folder may include only the
# folders below it (docs/architecture.md draws the map). The codecs and the
# UDP transport's core include no socket header at all: Asio sits in
# /usr/include, so only this check keeps it out of them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# folder -> the project folders its files may include from
declare -A allowed=(
  [common/util]="util"
  [common/framing]="framing util"
  [common/fileio]="fileio util"
  [common/net]="net framing util"
  [common/socks5]="socks5 net framing util"
  [common/rudp]="rudp net socks5 framing util"
  [common/link]="link net rudp socks5 secure framing fileio util"
  [common/secure]="secure net fileio framing util"  # fileio: path.hpp (a codec) only
  [common/session]="session net fileio framing util"
  [sender]="sender link secure session net fileio framing util"
  [receiver]="receiver link secure session net fileio framing util"
)
# Pure files: the standard library only (and xxhash/OpenSSL where named).
pure=(common/util/*.?pp common/framing/*.?pp common/fileio/path.?pp common/fileio/errors.?pp
      common/fileio/exclude.?pp
      common/net/address.?pp common/net/errors.?pp common/socks5/codec.?pp
      common/socks5/proxy_url.?pp common/socks5/errors.?pp common/rudp/error.?pp
      common/rudp/packet.?pp common/rudp/ack_tracker.?pp common/rudp/send_buffer.?pp
      common/rudp/recv_buffer.?pp common/rudp/congestion.?pp common/rudp/cookie.?pp
      common/rudp/connection.?pp common/rudp/listener.?pp common/rudp/range_set.hpp
      common/rudp/rtt.hpp common/rudp/time.hpp common/secure/errors.?pp common/secure/cpace.?pp
      common/secure/identity.?pp)

bad=0
for dir in "${!allowed[@]}"; do
  for f in "$dir"/*.cpp "$dir"/*.hpp; do
    [ -e "$f" ] || continue
    while IFS= read -r inc; do
      top=${inc%%/*}
      [ "$top" = "$inc" ] && continue  # a file beside it, by bare name
      case " ${allowed[$dir]} " in
        *" $top "*) ;;
        *) echo "$f includes \"$inc\": $dir may include only ${allowed[$dir]}"; bad=1 ;;
      esac
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
  done
done
for f in "${pure[@]}"; do
  if grep -Hn '^#include <\(asio\|sys/socket\|netinet\)' "$f"; then
    echo "  ^ $f is a codec or the UDP core: no sockets"
    bad=1
  fi
done
# The sessions never look behind net::transport.
if grep -Hn 'dynamic_cast' sender/*.?pp receiver/*.?pp; then
  echo "  ^ the sessions may not cast a transport"
  bad=1
fi
[ "$bad" -eq 0 ] || exit 1
echo "ok: every include follows the layers"
