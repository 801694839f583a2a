#include "sender/report.hpp"

#include <algorithm>
#include <cstdio>

#include "util/units.hpp"

namespace ferry::send {
namespace {

double loss_percent(const net::transport_stats& u) {
  return u.packets_sent
             ? 100.0 * static_cast<double>(u.packets_lost) / static_cast<double>(u.packets_sent)
             : 0.0;
}

}  // namespace

void report_run(logger& log, const send_result& result, exit_code code, const std::string& error,
                double secs) {
  if (!error.empty()) {
    log.warn(error);
    log.event(json_line("error").str("message", error).num("exit_code", to_int(code)));
  }
  const double rate = secs > 0 ? static_cast<double>(result.bytes) / secs : 0;
  if (error.empty()) {
    const auto files = result.files;
    log.info("stored " + std::to_string(files) + (files == 1 ? " file" : " files") + " and " +
             std::to_string(result.directories) +
             (result.directories == 1 ? " directory, " : " directories, ") +
             format_bytes(result.bytes) + " sent in " + format_duration(secs) + " (" +
             format_rate(rate) + "); " + std::to_string(result.skipped) + " skipped, " +
             std::to_string(result.rejected) + " rejected, " + std::to_string(result.failed) +
             " failed");
    if (result.compressed && result.bytes > 0) {
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2fx",
                    static_cast<double>(result.bytes) /
                        static_cast<double>(std::max<std::uint64_t>(result.wire_bytes, 1)));
      log.info("compressed: " + format_bytes(result.bytes) + " of content took " +
               format_bytes(result.wire_bytes) + " on the wire (" + ratio + ")");
    }
    if (result.resumed > 0)
      log.info("resumed " + std::to_string(result.resumed) +
               (result.resumed == 1 ? " file" : " files") + " after " +
               format_bytes(result.resumed_bytes) + " the receiver had kept (hash verified)");
    if (result.restarted > 0)
      log.info(std::to_string(result.restarted) + (result.restarted == 1 ? " file" : " files") +
               " sent whole: the bytes the receiver had kept did not match");
    if (const auto& u = result.link) {
      char line[200];
      std::snprintf(line, sizeof line,
                    "udp: rtt %.2f ms (min %.2f), %llu packets of up to %zu bytes sent, %llu "
                    "lost (%.2f%%), %s retransmitted",
                    static_cast<double>(u->srtt.count()) / 1000,
                    static_cast<double>(u->min_rtt.count()) / 1000,
                    static_cast<unsigned long long>(u->packets_sent), u->packet_size,
                    static_cast<unsigned long long>(u->packets_lost), loss_percent(*u),
                    format_bytes(u->bytes_retransmitted).c_str());
      log.info(line);
    }
  }
  json_line summary("session_end");
  summary.num("files", result.files)
      .num("directories", result.directories)
      .num("skipped", result.skipped)
      .num("rejected", result.rejected)
      .num("failed", result.failed)
      .num("bytes", result.bytes)
      .num("wire_bytes", result.wire_bytes)
      .boolean("compressed", result.compressed)
      .num("resumed", result.resumed)
      .num("resumed_bytes", result.resumed_bytes)
      .num("restarted", result.restarted)
      .real("seconds", secs)
      .real("bytes_per_second", rate)
      .num("exit_code", to_int(code))
      .str("status", code == exit_code::ok ? "ok"
                     : error.empty()       ? "partial"
                                           : "error")
      .str("transport", result.transport.empty() ? "none" : result.transport)
      .str("error", error);
  if (const auto& u = result.link) {
    summary.real("rtt_ms", static_cast<double>(u->srtt.count()) / 1000)
        .real("min_rtt_ms", static_cast<double>(u->min_rtt.count()) / 1000)
        .num("packets_sent", u->packets_sent)
        .num("packet_size", static_cast<std::uint64_t>(u->packet_size))
        .num("mtu_probes", u->mtu_probes)
        .num("packets_lost", u->packets_lost)
        .real("loss_percent", loss_percent(*u))
        .num("retransmitted_bytes", u->bytes_retransmitted)
        .num("duplicate_packets", u->duplicates);
  }
  log.event(summary);
}

}  // namespace ferry::send
