"""Platform spiders. One module per platform; Scrapy discovers spiders here."""
