"""The Yonyou (用友 YonBIP) open-API client; its fake lives in the top-level `sandbox` package."""
