// Asio's implementation, compiled once for every target (Asio is
// header-only otherwise, and each translation unit would compile it again).
#include <asio/impl/src.hpp>
