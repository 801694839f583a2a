// The proxy a link goes through, as the programs name it: the SOCKS5 URL
// parser and settings, under the link layer's name, so that the sessions
// and their options need nothing from socks5/ itself.
#pragma once

#include "socks5/proxy_url.hpp"

namespace ferry::link {

using proxy = socks5::proxy_config;
using socks5::parse_proxy_url;
using socks5::use_password_from_env;

}  // namespace ferry::link
