#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mediapath::reporter {

/// Base URLs for one Genesys Cloud region (reference/genesys-cloud-api.md, "Regions").
struct RegionHosts {
  std::string api_base_url;    ///< https://api.<domain>
  std::string login_base_url;  ///< https://login.<domain>
};

/// The hosts of a region such as "eu-central-1"; nullopt when the region is unknown.
std::optional<RegionHosts> regionHosts(std::string_view region);

/// Every known region name, in the order of the reference table.
std::vector<std::string_view> knownRegions();

}  // namespace mediapath::reporter
