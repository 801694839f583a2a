# FERRY_SANITIZE=address,undefined (or thread) instruments every ferry target.
set(FERRY_SANITIZE "" CACHE STRING "Comma-separated sanitizers (address,undefined,thread)")

if(FERRY_SANITIZE)
  add_compile_options(-fsanitize=${FERRY_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${FERRY_SANITIZE})
endif()
