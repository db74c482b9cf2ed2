// What `ups bench` prints. The JSON objects are written by hand (the program has no JSON
// library) with numbers in their shortest round-trip form, so that scripts/bench_report.py reads
// back exactly what was measured.
#include "cli/bench_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <utility>

namespace ups {
namespace cli {
namespace bench {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The shortest decimal form that reads back as the same double.
std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string json_ints(const Shape& v) {
  return "[" + join_ints(v) + "]";
}

// The op options as a JSON object: option names without the dashes and with underscores
// ("align_corners"), flags as true, tuples as arrays of numbers.
std::string json_params(const BenchCase& c) {
  std::string s = "{";
  bool first = true;
  for (const ParamInfo& info : param_table()) {
    const auto value = c.get(info.option);
    if (!value) continue;
    std::string key = std::string(info.option).substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    s += (first ? "" : ", ") + json_string(key) + ": ";
    first = false;
    switch (info.kind) {
      case ParamKind::kFlag:
        s += "true";
        break;
      case ParamKind::kWord:
        s += json_string(*value);
        break;
      case ParamKind::kInt:
        s += std::to_string(parse_int(*value, info.option, 1, kMaxInt));
        break;
      case ParamKind::kInts:
        s += json_ints(parse_int_tuple(*value, info.option, 0, kMaxInt));
        break;
      case ParamKind::kReals: {
        std::string list;
        for (double d : parse_real_tuple(*value, info.option))
          list += (list.empty() ? "" : ", ") + json_number(d);
        s += "[" + list + "]";
        break;
      }
    }
  }
  return s + "}";
}

std::string gbps_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

std::string json_case_fields(const BenchCase& c, Device device, const Shape& out_shape,
                             std::uint64_t bytes) {
  return "\"case\": " + json_string(command_line(c)) + ", \"op\": " + json_string(c.op) +
         ", \"device\": " + json_string(to_string(device)) +
         ", \"dtype\": " + json_string(to_string(c.dtype)) +
         ", \"layout\": " + json_string(layout_name(c.channels_last)) +
         ", \"shape\": " + json_ints(c.shape) + ", \"out_shape\": " + json_ints(out_shape) +
         ", \"params\": " + json_params(c) + ", \"bytes\": " + std::to_string(bytes);
}

Reporter::Reporter(const RunSettings& settings, int threads, double copy_gbps,
                   std::string device_name)
    : settings_(settings),
      threads_(threads),
      copy_gbps_(copy_gbps),
      device_name_(std::move(device_name)) {}

void Reporter::header() const {
  if (settings_.json) return;
  std::printf("ups bench on %s", to_string(settings_.device));
  if (settings_.device == Device::kCPU) {
    std::printf(" (%d threads; memcpy %.1f GB/s)", threads_, copy_gbps_);
  } else {
    std::printf(" (%s; device-to-device copy %.1f GB/s)", device_name_.c_str(), copy_gbps_);
  }
  std::printf(": %d warm-up and %d timed runs per case\n", settings_.warmup, settings_.repeat);
  std::printf("%10s %10s %10s %8s%s  case\n", "median ms", "min ms", "max ms", "GB/s", "  copy %");
  std::fflush(stdout);
}

void Reporter::result(const BenchCase& c, const Measurement& m) const {
  const double gbps = static_cast<double>(m.bytes) / (m.stats.median_ms * 1e6);
  const bool cuda = settings_.device == Device::kCUDA;
  if (settings_.json) {
    std::string line = "{" + json_case_fields(c, settings_.device, m.out_shape, m.bytes) +
                       ", \"threads\": " + std::to_string(threads_) +
                       ", \"warmup\": " + std::to_string(settings_.warmup) +
                       ", \"repeat\": " + std::to_string(settings_.repeat) +
                       ", \"median_ms\": " + json_number(m.stats.median_ms) +
                       ", \"min_ms\": " + json_number(m.stats.min_ms) +
                       ", \"max_ms\": " + json_number(m.stats.max_ms) +
                       ", \"gbps\": " + json_number(gbps);
    if (!m.detail.empty()) line += ", \"algo\": " + json_string(m.detail);
    if (cuda) line += ", \"device_name\": " + json_string(device_name_);
    line += ", \"copy_gbps\": " + json_number(copy_gbps_) +
            ", \"bw_fraction\": " + json_number(gbps / copy_gbps_);
    if (cuda) {
      line += ", \"buffer_sets\": " + std::to_string(m.sets) +
              ", \"l2_flush\": " + (m.flush_l2 ? "true" : "false");
    }
    std::printf("%s}\n", line.c_str());
  } else {
    std::string name = command_line(c);
    if (!m.detail.empty()) name += "  (" + m.detail + ")";
    char fraction[16] = "";
    std::snprintf(fraction, sizeof fraction, "  %5.1f%%", 100.0 * gbps / copy_gbps_);
    std::printf("%10.3f %10.3f %10.3f %8s%s  %s\n", m.stats.median_ms, m.stats.min_ms,
                m.stats.max_ms, gbps_text(gbps).c_str(), fraction, name.c_str());
  }
  std::fflush(stdout);
}

void Reporter::failure(const BenchCase& c, const std::string& message) const {
  if (settings_.json) {
    std::printf("{\"case\": %s, \"op\": %s, \"device\": %s, \"error\": %s}\n",
                json_string(command_line(c)).c_str(), json_string(c.op).c_str(),
                json_string(to_string(settings_.device)).c_str(), json_string(message).c_str());
    std::fflush(stdout);
  }
  std::cout.flush();
  std::fprintf(stderr, "ups: bench: %s: %s\n", command_line(c).c_str(), message.c_str());
}

}  // namespace bench
}  // namespace cli
}  // namespace ups
