#include "reporter/genesys/genesys_regions.h"

#include <array>
#include <utility>

namespace mediapath::reporter {
namespace {

// Region -> domain. The API host is api.<domain>, the login host login.<domain>.
constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kRegions{{
    {"us-east-1", "mypurecloud.com"},
    {"eu-west-1", "mypurecloud.ie"},
    {"ap-southeast-2", "mypurecloud.com.au"},
    {"ap-northeast-1", "mypurecloud.jp"},
    {"eu-central-1", "mypurecloud.de"},
    {"us-west-2", "usw2.pure.cloud"},
    {"ca-central-1", "cac1.pure.cloud"},
    {"ap-northeast-2", "apne2.pure.cloud"},
    {"eu-west-2", "euw2.pure.cloud"},
    {"ap-south-1", "aps1.pure.cloud"},
    {"us-east-2", "use2.us-gov-pure.cloud"},
    {"sa-east-1", "sae1.pure.cloud"},
    {"me-central-1", "mec1.pure.cloud"},
    {"ap-northeast-3", "apne3.pure.cloud"},
    {"eu-central-2", "euc2.pure.cloud"},
    {"mx-central-1", "mxc1.pure.cloud"},
    {"ap-southeast-1", "apse1.pure.cloud"},
}};

}  // namespace

std::optional<RegionHosts> regionHosts(std::string_view region) {
  for (const auto& [name, domain] : kRegions) {
    if (name == region) {
      return RegionHosts{"https://api." + std::string(domain),
                         "https://login." + std::string(domain)};
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> knownRegions() {
  std::vector<std::string_view> out;
  out.reserve(kRegions.size());
  for (const auto& [name, domain] : kRegions) out.push_back(name);
  return out;
}

}  // namespace mediapath::reporter
