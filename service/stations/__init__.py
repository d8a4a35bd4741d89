"""Stations (驿站、党群服务中心、爱心超市), their catalogues, and redemption."""
