"""内容安全: residents' text and photos checked by WeChat before others see them."""
