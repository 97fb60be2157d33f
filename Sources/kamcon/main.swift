import Shared
print(ProductVersion.banner)
